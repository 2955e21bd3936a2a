"""Time `edgeaccel import onnx` on a ResNet-18 built here with onnx.helper (random weights).

The model is the torchvision ResNet-18 architecture at 224 x 224 as the TorchScript exporter
writes it (Conv with folded batch norm as bias, Identity of each weight, Relu, MaxPool,
residual Add, GlobalAveragePool, Flatten, Gemm), float32 weights in the file (about 47 MB).
Prints where the import's time goes (file load, constant folding, shape inference, mapping to
layers), the total of a whole ``read`` (best of ``--repeat`` runs) and the network's MACs
(ResNet-18's 1,814,073,344 when the import is right).

    python benchmarks/bench_import.py [--repeat 5] [--external] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sim.importers.onnx_model import import_onnx


class _ResNetWriter:
    """Nodes and initializers of a ResNet-18, TorchScript-export style."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self.rng = np.random.default_rng(0)
        self.count = 0

    def weight(self, shape: tuple[int, ...]) -> str:
        """An initializer passed through Identity, as the TorchScript exporter writes it."""
        self.count += 1
        name = f"onnx::Conv_{self.count}"
        values = self.rng.standard_normal(shape).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(values, name))
        self.nodes.append(helper.make_node("Identity", [name], [f"{name}_id"],
                                           name=f"Identity_{self.count}"))
        return f"{name}_id"

    def conv(self, name: str, source: str, cin: int, cout: int, kernel: int, stride: int,
             pad: int, relu: bool) -> str:
        weight = self.weight((cout, cin, kernel, kernel))
        bias = self.weight((cout,))
        self.nodes.append(helper.make_node("Conv", [source, weight, bias], [f"{name}_out"],
                                           name=name, kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[pad] * 4))
        if not relu:
            return f"{name}_out"
        self.nodes.append(helper.make_node("Relu", [f"{name}_out"], [f"{name}_relu"],
                                           name=f"{name}_relu"))
        return f"{name}_relu"

    def block(self, name: str, source: str, cin: int, cout: int, stride: int) -> str:
        first = self.conv(f"{name}_conv1", source, cin, cout, 3, stride, 1, True)
        second = self.conv(f"{name}_conv2", first, cout, cout, 3, 1, 1, False)
        skip = source
        if stride != 1 or cin != cout:
            skip = self.conv(f"{name}_down", source, cin, cout, 1, stride, 0, False)
        self.nodes.append(helper.make_node("Add", [second, skip], [f"{name}_add"],
                                           name=f"{name}_add"))
        self.nodes.append(helper.make_node("Relu", [f"{name}_add"], [f"{name}_out"],
                                           name=f"{name}_relu"))
        return f"{name}_out"


def resnet18_model() -> onnx.ModelProto:
    """ResNet-18 (torchvision layout, 1000 classes) at 1 x 3 x 224 x 224, opset 17."""
    writer = _ResNetWriter()
    x = writer.conv("conv1", "input", 3, 64, 7, 2, 3, True)
    writer.nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="maxpool",
                                         kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4))
    x, channels = "pool", 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            x = writer.block(f"layer{stage}_{index}", x, channels, width, stride)
            channels = width
    writer.nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"], name="avgpool"),
                     helper.make_node("Flatten", ["gap"], ["flat"], name="flatten")]
    fc_w = writer.weight((1000, 512))
    fc_b = writer.weight((1000,))
    writer.nodes.append(helper.make_node("Gemm", ["flat", fc_w, fc_b], ["logits"], name="fc",
                                         transB=1))
    graph = helper.make_graph(
        writer.nodes, "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        writer.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="imports timed (best is shown)")
    parser.add_argument("--external", action="store_true",
                        help="store the weights in an external data file")
    parser.add_argument("--keep", metavar="DIR", help="write the model here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "resnet18.onnx"
        onnx.save(resnet18_model(), str(path), save_as_external_data=args.external,
                  location="resnet18.data" if args.external else None)
        size = sum(item.stat().st_size for item in folder.glob("resnet18.*"))
        best, stages, network = float("inf"), {}, None
        for _ in range(args.repeat):
            start = time.perf_counter()
            imported = import_onnx(path)
            total = time.perf_counter() - start
            if total < best:
                best, stages, network = total, imported.seconds, imported.network
    print(f"ResNet-18 ONNX, {size / 1e6:.1f} MB{' (external data)' if args.external else ''}: "
          f"{len(network.layers)} layers, {network.total_params:,} params, "
          f"{network.total_macs:,} MACs")
    for stage, seconds in stages.items():
        print(f"  {stage:<16} {seconds * 1000:8.1f} ms")
    print(f"  {'total':<16} {best * 1000:8.1f} ms (best of {args.repeat})")


if __name__ == "__main__":
    main()
