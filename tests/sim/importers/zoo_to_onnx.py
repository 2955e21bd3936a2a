"""Write one of our networks as an ONNX graph the way a torch exporter would, to import it back.

Two styles: ``torchscript`` (opset 13: each weight through Identity, GlobalAveragePool, Split
for channel halves, hardswish as HardSigmoid + Mul as before opset 14, constant reshape
targets) and ``dynamo`` (opset 18: ReduceMean with its axes as an input, Slice, HardSwish,
reshape targets computed by Shape-Gather-Unsqueeze-Concat chains). SiLU is Sigmoid + Mul in
both, as both exporters write it. Weights are stored as external data in a file that is never
written: the import must work from the initializers' dims alone (and the test files stay small).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sim.workload.layers import Activation, ChannelSlice, PoolLayer
from sim.workload.network import INPUT, Network

STYLES = {"torchscript": 13, "dynamo": 18}


class _Writer:
    def __init__(self, network: Network, style: str) -> None:
        self.network = network
        self.style = style
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.tensor = {INPUT: "x"}
        self.count = 0

    def unique(self, base: str) -> str:
        self.count += 1
        return f"{base}__{self.count}"

    def node(self, op: str, inputs: list[str], name: str, **attributes) -> str:
        output = self.unique(name)
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def weight(self, name: str, shape: tuple[int, ...]) -> str:
        """A float initializer whose data lives in a missing external file."""
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(shape))
        tensor.data_location = TensorProto.EXTERNAL
        size = int(np.prod(shape)) * 4
        for key, value in (("location", "weights.missing"), ("offset", "0"),
                           ("length", str(size))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(tensor)
        if self.style == "torchscript":
            return self.node("Identity", [name], f"{name}_id")
        return name

    def ints(self, name: str, values) -> str:
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
        return name

    def floats(self, name: str, value: float) -> str:
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.array(value, np.float32), name))
        return name

    def activation(self, source: str, activation: Activation, name: str) -> str:
        if activation == Activation.NONE:
            return source
        if activation == Activation.RELU:
            return self.node("Relu", [source], f"{name}_relu")
        if activation == Activation.RELU6:
            return self.node("Clip", [source, self.floats("zero", 0.0), self.floats("six", 6.0)],
                             f"{name}_relu6")
        if activation == Activation.SIGMOID:
            return self.node("Sigmoid", [source], f"{name}_sigmoid")
        if activation == Activation.HARDSIGMOID:
            return self.node("HardSigmoid", [source], f"{name}_hsig", alpha=1 / 6, beta=0.5)
        if activation == Activation.SILU:
            gate = self.node("Sigmoid", [source], f"{name}_silu_gate")
            return self.node("Mul", [source, gate], f"{name}_silu")
        if self.style == "torchscript":  # hardswish before opset 14
            gate = self.node("HardSigmoid", [source], f"{name}_hs_gate", alpha=1 / 6, beta=0.5)
            return self.node("Mul", [source, gate], f"{name}_hswish")
        return self.node("HardSwish", [source], f"{name}_hswish")

    def reshape_target(self, source: str, tail: list[int]) -> str:
        if self.style == "torchscript":
            return self.ints("target", [1, *tail])
        shape = self.node("Shape", [source], "shape")
        batch = self.node("Gather", [shape, self.ints("zero", 0)], "batch", axis=0)
        batch1 = self.node("Unsqueeze", [batch, self.ints("axes", [0])], "batch1")
        return self.node("Concat", [batch1, self.ints("tail", tail)], "target", axis=0)

    def layer(self, info) -> str:
        layer, kind = info.layer, str(info.layer.kind)
        sources = [self.tensor[name] for name in info.inputs]
        name = layer.name
        if kind in ("conv2d", "depthwise", "pointwise"):
            geometry = layer.geometry(info.input_shapes[0].channels)
            kh, kw, per_group, cout = geometry.weight_shape
            top, bottom, left, right = geometry.padding
            inputs = [sources[0], self.weight(f"{name}.weight", (cout, per_group, kh, kw))]
            if layer.bias:
                inputs.append(self.weight(f"{name}.bias", (cout,)))
            out = self.node("Conv", inputs, name, kernel_shape=[kh, kw],
                            strides=list(geometry.stride), pads=[top, left, bottom, right],
                            dilations=list(geometry.dilation), group=geometry.groups)
            if layer.batchnorm:
                parts = [self.weight(f"{name}.bn.{p}", (cout,)) for p in "sbmv"]
                out = self.node("BatchNormalization", [out, *parts], f"{name}_bn")
            return self.activation(out, layer.activation, name)
        if kind == "fc":
            flat = self.node("Flatten", sources, f"{name}_flatten")
            features = info.input_shapes[0].elements
            inputs = [flat, self.weight(f"{name}.weight", (layer.out_features, features))]
            if layer.bias:
                inputs.append(self.weight(f"{name}.bias", (layer.out_features,)))
            out = self.node("Gemm", inputs, name, transB=1)
            return self.activation(out, layer.activation, name)
        if isinstance(layer, PoolLayer):
            top, bottom, left, right = layer.padding
            return self.node("MaxPool" if kind == "maxpool" else "AveragePool", sources, name,
                             kernel_shape=list(layer.kernel), strides=list(layer.stride),
                             pads=[top, left, bottom, right], ceil_mode=int(layer.ceil_mode))
        if kind == "global_avgpool":
            if self.style == "torchscript":
                return self.node("GlobalAveragePool", sources, name)
            return self.node("ReduceMean", [sources[0], self.ints("axes", [-1, -2])], name,
                             keepdims=1)
        if kind in ("add", "mul"):
            out = self.node(kind.capitalize(), sources, name)
            return self.activation(out, layer.activation, name)
        if kind == "concat":
            return self.node("Concat", sources, name, axis=1)
        if kind == "slice":
            return self.slice(info, sources[0])
        if kind == "channel_shuffle":
            shape = info.output_shape
            groups = layer.groups
            view = self.node("Reshape", [sources[0], self.reshape_target(
                sources[0], [groups, shape.channels // groups, shape.height, shape.width])],
                f"{name}_view")
            swapped = self.node("Transpose", [view], f"{name}_t", perm=[0, 2, 1, 3, 4])
            return self.node("Reshape", [swapped, self.reshape_target(
                swapped, [-1, shape.height, shape.width])], name)
        if kind == "lrn":
            return self.node("LRN", sources, name, size=layer.size, alpha=layer.alpha,
                             beta=layer.beta, bias=layer.bias)
        raise AssertionError(f"no ONNX form for {kind}")

    def slice(self, info, source: str) -> str:
        layer: ChannelSlice = info.layer
        channels = info.input_shapes[0].channels
        if self.style == "dynamo" or (layer.start, layer.stop) not in (
                (0, channels // 2), (channels // 2, channels)) or channels % 2:
            return self.node("Slice", [source, self.ints("starts", [layer.start]),
                                       self.ints("ends", [layer.stop]), self.ints("axes", [1])],
                             layer.name)
        # TorchScript writes chunk(2) as one Split; each half is then one of its outputs.
        outputs = [self.unique(f"{layer.name}_half{i}") for i in range(2)]
        sizes = self.ints("sizes", [channels // 2] * 2)
        self.nodes.append(helper.make_node("Split", [source, sizes], outputs,
                                           name=self.unique("split"), axis=1))
        return outputs[0 if layer.start == 0 else 1]

    def model(self) -> onnx.ModelProto:
        for info in self.network.infos:
            self.tensor[info.name] = self.layer(info)
        shape = self.network.input_shape
        graph = helper.make_graph(
            self.nodes, self.network.name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                           [1, shape.channels, shape.height, shape.width])],
            [helper.make_tensor_value_info(self.tensor[self.network.output_name],
                                           TensorProto.FLOAT, None)],
            self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("",
                                                                           STYLES[self.style])])


def write_onnx(network: Network, style: str, folder: Path) -> Path:
    path = folder / f"{network.name}_{style}.onnx"
    path.write_bytes(_Writer(network, style).model().SerializeToString())
    return path
