"""ONNX models into our networks, as both torch exporters (TorchScript and dynamo) write them.

The file is read, its constants folded and its shapes inferred by :mod:`sim.importers.onnx_load`
(weights are never loaded; external data files may be missing). Then each remaining node maps
to a layer (``SUPPORTED``):

- Conv (groups, depthwise with a channel multiplier, strides, explicit pads, dilations) ->
  conv2d / depthwise; Gemm and MatMul with constant weights -> fc (an ``Add`` of a constant
  vector after a bias-less fc is its bias); MaxPool / AveragePool (``ceil_mode`` either way) ->
  maxpool / avgpool; GlobalAveragePool and ReduceMean over H and W -> global_avgpool;
  Add -> add; Mul of two tensors (equal shapes, or a N x C x 1 x 1 gate) -> mul; Concat on
  channels -> concat; Split and Slice on channels -> slice; LRN -> lrn; the
  Reshape-Transpose-Reshape channel shuffle -> channel_shuffle (:mod:`onnx_patterns`).
- Folded into the layer producing their input (its only reader): BatchNormalization
  (``batchnorm: true``), Relu, Clip to [0, 6] or [0, inf), Sigmoid, HardSigmoid (PyTorch's
  alpha 1/6, beta 1/2), HardSwish, and the SiLU / hardswish written as ``Mul(x, gate(x))``.
- Passed through: Flatten, Reshape to (N, features) or to the same shape, Squeeze to (N, C),
  Identity, Dropout. A Softmax or LogSoftmax giving the graph output is dropped with a note.

Anything else is refused with the node's name, operator and the supported list. Tensors are NCHW
in ONNX and NHWC here; batch 1 is assumed (the batch dimension is dropped).

Modules: :mod:`onnx_load` (read, fold, infer), :mod:`onnx_mapper` (the mapping's state and
helpers), :mod:`onnx_layers` (compute and pooling layers), :mod:`onnx_channels` (channel moves
and reshapes), :mod:`onnx_folding` (batch norms and activations), :mod:`onnx_patterns`
(multi-node patterns); this module dispatches nodes and checks the whole network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sim import limits as lim
from sim.config import ConfigError
from sim.importers.onnx_channels import ChannelMappers
from sim.importers.onnx_constants import FOLDABLE, FoldError
from sim.importers.onnx_folding import FoldingMappers
from sim.importers.onnx_layers import LayerMappers
from sim.importers.onnx_load import LoadedGraph, load_graph
from sim.importers.onnx_mapper import identifier
from sim.workload.layers import LayerError, Shape
from sim.workload.network import Network, NetworkError

SUPPORTED = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
             "ReduceMean", "Add", "Mul", "Concat", "Split", "Slice", "LRN",
             "BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
             "Flatten", "Reshape", "Transpose", "Squeeze", "Identity", "Dropout")
_PASS_THROUGH = ("Flatten", "Identity", "Dropout", "Squeeze")
_OUTPUT_ONLY = ("Softmax", "LogSoftmax")  # dropped with a note when they give the graph output
_FOLDED = ("BatchNormalization", "Relu", "Clip", "HardSwish")


@dataclass(frozen=True)
class OnnxImport:
    """An imported network, the notes to print (one line each) and where the time went (s)."""

    network: Network
    notes: tuple[str, ...]
    seconds: dict[str, float]


def read_onnx(path: str | Path, name: str | None = None) -> Network:
    """Read an ONNX model file into a :class:`Network`."""
    return import_onnx(path, name).network


def import_onnx(path: str | Path, name: str | None = None) -> OnnxImport:
    """Read an ONNX model file: the network, notes (missing weight data) and stage timings."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "file not found")
    graph = load_graph(path)
    start = time.perf_counter()
    input_name, input_shape = _network_input(graph)
    builder = NodeMapper(graph, input_name)
    for position, node in enumerate(graph.nodes):
        if position in builder.absorbed:
            continue
        try:
            builder.add(node)
        except (LayerError, FoldError, ValueError, TypeError, KeyError, IndexError) as error:
            raise graph.error(node, f"cannot be imported: {error}") from None
    _check_output(graph, builder)
    network_name = name or identifier(graph.name or path.stem)
    try:
        network = Network(network_name, input_shape, builder.layers)
    except NetworkError as error:
        raise ConfigError(path, error.message) from None
    problem = lim.network_size_problem(network.infos)
    if problem is not None:
        index, message, allowed = problem
        raise ConfigError(path, message, field=f"layer {network.infos[index].name}",
                          allowed=allowed)
    seconds = {**graph.seconds, "mapping": time.perf_counter() - start}
    return OnnxImport(network, tuple(graph.notes + builder.notes), seconds)


def _network_input(graph: LoadedGraph) -> tuple[str, Shape]:
    if len(graph.inputs) != 1:
        raise ConfigError(graph.path, f"expected one graph input, found {len(graph.inputs)}")
    name, shape = graph.inputs[0]
    if len(shape) != 4 or None in shape[1:]:
        raise ConfigError(graph.path, f"input {name}: expected a fixed NCHW shape, "
                                      f"got {list(shape)}")
    _, channels, height, width = shape
    for what, value, high in (("height", height, lim.MAX_RESOLUTION),
                              ("width", width, lim.MAX_RESOLUTION),
                              ("channels", channels, lim.MAX_CHANNELS)):
        if not 1 <= value <= high:
            raise ConfigError(graph.path, f"input {name}: {what} {value}",
                              allowed=lim.int_range(1, high))
    return name, Shape(height, width, channels)


def _check_output(graph: LoadedGraph, builder: NodeMapper) -> None:
    if len(graph.outputs) != 1:
        raise ConfigError(graph.path, f"expected one graph output, found {len(graph.outputs)}")
    if not builder.layers:
        raise ConfigError(graph.path, "no node maps to a layer")
    produced = builder.tensor.get(graph.outputs[0])
    if produced != builder.layers[-1].name:
        raise ConfigError(graph.path, f"graph output {graph.outputs[0]} is not the last "
                                      "layer's output", allowed="one output, computed last")


class NodeMapper(LayerMappers, ChannelMappers, FoldingMappers):
    """Turns nodes into layers, folding batch norms and activations into their producers."""

    def add(self, node) -> None:
        op = node.op_type
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED + _OUTPUT_ONLY:
            if op in FOLDABLE and node.domain in ("", "ai.onnx"):
                raise self.graph.error(node, f"computes on a tensor, not a constant; {op} is "
                                             "supported only where it folds to a constant")
            domain = f" of domain {node.domain}" if node.domain not in ("", "ai.onnx") else ""
            raise self.graph.error(node, f"unsupported operator{domain} (supported: "
                                         f"{', '.join(SUPPORTED)}; folded when constant: "
                                         f"{', '.join(FOLDABLE)})")
        if op in _OUTPUT_ONLY and node.domain in ("", "ai.onnx"):
            self._output_softmax(node)
        elif op in _PASS_THROUGH:
            self._pass_through(node)
        elif op in _FOLDED:
            self._fold(node, self._activation(node))
        elif op in ("Sigmoid", "HardSigmoid"):
            self._gate(node)
        elif op in ("Reshape", "Transpose", "Split"):
            getattr(self, f"_{op.lower()}")(node)
        else:
            layer = getattr(self, f"_{op.lower()}")(node)
            if layer is not None:
                self._append(layer, node.output[0])
