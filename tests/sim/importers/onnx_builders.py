"""Small ONNX graphs in the shapes the torch exporters write, built with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphWriter:
    """Collects nodes and initializers; ``weight`` optionally passes through Identity
    (TorchScript's habit: ``Identity(onnx::Conv_239)``)."""

    def __init__(self, identity_weights: bool = False) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.identity_weights = identity_weights
        self.rng = np.random.default_rng(0)

    def node(self, op: str, inputs: list[str], output: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def const(self, name: str, values, dtype=np.int64) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype), name))
        return name

    def weight(self, name: str, shape: tuple[int, ...]) -> str:
        values = self.rng.standard_normal(shape).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(values, name))
        if not self.identity_weights:
            return name
        return self.node("Identity", [name], f"{name}_identity")

    def conv(self, name: str, source: str, cin: int, cout: int, kernel: int = 1,
             stride: int = 1, pad: int = 0, group: int = 1, bias: bool = False) -> str:
        inputs = [source, self.weight(f"{name}.weight", (cout, cin // group, kernel, kernel))]
        if bias:
            inputs.append(self.weight(f"{name}.bias", (cout,)))
        return self.node("Conv", inputs, name, kernel_shape=[kernel, kernel],
                         strides=[stride, stride], pads=[pad] * 4, group=group)

    def batchnorm(self, name: str, source: str, channels: int) -> str:
        parts = [self.weight(f"{name}.{part}", (channels,)) for part in ("s", "b", "m", "v")]
        return self.node("BatchNormalization", [source, *parts], name)

    def save(self, folder: Path, input_shape: list[int], output: str, output_shape: list,
             opset: int = 13, file: str = "model.onnx", **save_options) -> Path:
        graph = helper.make_graph(
            self.nodes, "exported",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)],
            self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        onnx.checker.check_model(model)
        path = folder / file
        onnx.save(model, str(path), **save_options)
        return path


def shape_chain_target(writer: GraphWriter, source: str, opset: int, tail: list[int]) -> str:
    """``Concat(Unsqueeze(Gather(Shape(source), 0)), tail)``: the dynamic reshape target the
    TorchScript exporter writes for ``x.view(x.size(0), ...)``."""
    shape = writer.node("Shape", [source], f"{source}_shape")
    index = writer.const(f"{source}_zero", 0)
    batch = writer.node("Gather", [shape, index], f"{source}_batch", axis=0)
    if opset < 13:
        batch1 = writer.node("Unsqueeze", [batch], f"{source}_batch1", axes=[0])
    else:
        axes = writer.const(f"{source}_axes0", [0])
        batch1 = writer.node("Unsqueeze", [batch, axes], f"{source}_batch1")
    rest = writer.const(f"{source}_tail", tail)
    return writer.node("Concat", [batch1, rest], f"{source}_target", axis=0)
