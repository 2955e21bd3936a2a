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
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sim import limits as lim
from sim.config import ConfigError
from sim.importers.onnx_constants import FOLDABLE, FoldError, reshape_target, slice_bounds
from sim.importers.onnx_load import LoadedGraph, load_graph
from sim.importers.onnx_patterns import channel_shuffle_groups, gated_activation_mul
from sim.workload.layers import (
    Activation,
    Add,
    AvgPool2d,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    Layer,
    LayerError,
    LocalResponseNorm,
    MaxPool2d,
    Mul,
    Shape,
)
from sim.workload.network import INPUT, Network, NetworkError

SUPPORTED = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
             "ReduceMean", "Add", "Mul", "Concat", "Split", "Slice", "LRN",
             "BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
             "Flatten", "Reshape", "Transpose", "Squeeze", "Identity", "Dropout")
_PASS_THROUGH = ("Flatten", "Identity", "Dropout", "Squeeze")
_OUTPUT_ONLY = ("Softmax", "LogSoftmax")  # dropped with a note when they give the graph output
_FOLDED = ("BatchNormalization", "Relu", "Clip", "HardSwish")
HARDSIGMOID_ALPHA, HARDSIGMOID_BETA = 1 / 6, 0.5  # PyTorch's hardsigmoid: relu6(x + 3) / 6


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
    builder = _Builder(graph, input_name)
    for position, node in enumerate(graph.nodes):
        if position in builder.absorbed:
            continue
        try:
            builder.add(node)
        except (LayerError, FoldError, ValueError, TypeError, KeyError, IndexError) as error:
            raise graph.error(node, f"cannot be imported: {error}") from None
    _check_output(graph, builder)
    network_name = name or _identifier(graph.name or path.stem)
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


def _check_output(graph: LoadedGraph, builder: _Builder) -> None:
    if len(graph.outputs) != 1:
        raise ConfigError(graph.path, f"expected one graph output, found {len(graph.outputs)}")
    if not builder.layers:
        raise ConfigError(graph.path, "no node maps to a layer")
    produced = builder.tensor.get(graph.outputs[0])
    if produced != builder.layers[-1].name:
        raise ConfigError(graph.path, f"graph output {graph.outputs[0]} is not the last "
                                      "layer's output", allowed="one output, computed last")


class _Builder:
    """Turns nodes into layers, folding batch norms and activations into their producers."""

    def __init__(self, graph: LoadedGraph, input_name: str) -> None:
        self.graph = graph
        self.layers: list[Layer] = []
        self.index: dict[str, int] = {}        # our layer name -> position in ``layers``
        self.tensor = {input_name: INPUT}      # ONNX tensor -> our tensor (layer name)
        self.names: set[str] = set()
        self.absorbed: set[int] = set()        # node positions a pattern has consumed
        self.notes: list[str] = []             # one line each, for the user

    # --- dispatch ---------------------------------------------------------------------------

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

    def _append(self, layer: Layer, output: str) -> None:
        self.index[layer.name] = len(self.layers)
        self.layers.append(layer)
        self.names.add(layer.name)
        self.tensor[output] = layer.name

    # --- helpers ----------------------------------------------------------------------------

    def _source(self, node, index: int = 0) -> str:
        name = node.input[index]
        if name not in self.tensor:
            if name in self.graph.constants:
                raise self.graph.error(node, f"input {name} is a constant; only tensors "
                                             "computed from the graph input are supported here")
            raise self.graph.error(node, f"input {name} comes from no supported layer")
        return self.tensor[name]

    def _name(self, node) -> str:
        base = _identifier(node.name or f"{node.op_type.lower()}_{len(self.layers)}")
        name, suffix = base, 1
        while name in self.names:
            suffix += 1
            name = f"{base}_{suffix}"
        return name

    def _attributes(self, node) -> dict:
        import onnx

        return {item.name: onnx.helper.get_attribute_value(item) for item in node.attribute}

    def _constant_shape(self, node, index: int) -> tuple[int, ...]:
        if len(node.input) <= index or node.input[index] not in self.graph.constants:
            raise self.graph.error(node, f"input {index} must be a constant initializer")
        return self.graph.constants[node.input[index]].shape

    def _value(self, node, index: int):
        """The value of the node's constant input ``index`` (None when the input is absent)."""
        if len(node.input) <= index or not node.input[index]:
            return None
        constant = self.graph.constants.get(node.input[index])
        if constant is None:
            raise self.graph.error(node, f"input {index} ({node.input[index]}) must be a "
                                         "constant")
        if constant.value is None:
            why = (f"its external data {constant.missing_file} is missing"
                   if constant.missing_file else "it is too large to be a shape or a bound")
            raise self.graph.error(node, f"input {index} ({node.input[index]}) has no value: "
                                         f"{why}")
        return constant.value

    def _shape(self, tensor: str) -> tuple | None:
        return self.graph.shapes.get(tensor)

    def _rank4_axis(self, node, axis: int, what: str) -> int:
        shape = self._shape(node.input[0])
        if shape is None or len(shape) != 4:
            raise self.graph.error(node, f"{what} needs a 4-D N x C x H x W input, got "
                                         f"{'unknown' if shape is None else list(shape)}")
        return axis % 4

    def _geometry(self, node, kernel: tuple[int, int], pooling: bool) -> dict:
        attributes = self._attributes(node)
        if attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            raise self.graph.error(node, "auto_pad SAME_UPPER / SAME_LOWER is not supported; "
                                         "export explicit pads")
        strides = list(attributes.get("strides", [1, 1]))
        pads = list(attributes.get("pads", [0, 0, 0, 0]))
        self._check_ints(node, "kernel_shape", list(kernel), 1, 2)
        self._check_ints(node, "strides", strides, 1, 2)
        self._check_ints(node, "pads", pads, 0, 4)
        top, left, bottom, right = pads
        geometry = {"kernel": kernel, "stride": tuple(strides),
                    "padding": (top, bottom, left, right)}
        if pooling:
            if list(attributes.get("dilations", [1, 1])) != [1, 1]:
                raise self.graph.error(node, f"dilations {list(attributes['dilations'])}",
                                       allowed="[1, 1] for pooling")
            geometry["ceil_mode"] = bool(attributes.get("ceil_mode", 0))
        return geometry

    def _check_ints(self, node, attribute: str, values: list, low: int, count: int) -> None:
        """Refuse an attribute that is not ``count`` integers in ``low..MAX_WINDOW``."""
        allowed = f"{count} integers {lim.int_range(low, lim.MAX_WINDOW)}"
        if len(values) != count or not all(isinstance(v, int) and low <= v <= lim.MAX_WINDOW
                                           for v in values):
            raise self.graph.error(node, f"{attribute} {values}", allowed=allowed)

    def _input_channels(self, node) -> int | None:
        """The channels of the node's first input, when shape inference knows them."""
        shape = self._shape(node.input[0])
        return shape[1] if shape is not None and len(shape) == 4 else None

    # --- layers -----------------------------------------------------------------------------

    def _conv(self, node) -> Layer:
        shape = self._constant_shape(node, 1)
        if len(shape) != 4:
            raise self.graph.error(node, f"weights of shape {list(shape)}",
                                   allowed="(filters, channels / group, kh, kw): 2-D only")
        filters, per_group, kernel_h, kernel_w = shape
        attributes = self._attributes(node)
        groups = attributes.get("group", 1)
        if not isinstance(groups, int) or not 1 <= groups <= lim.MAX_CHANNELS:
            raise self.graph.error(node, f"group {groups}",
                                   allowed=lim.int_range(1, lim.MAX_CHANNELS))
        channels = per_group * groups
        given = self._input_channels(node)
        if given is not None and given != channels:
            raise self.graph.error(node, f"weights of {per_group} channels x group {groups} "
                                         f"read {channels} channels, the input has {given}",
                                   allowed=f"weights of shape (filters, {given} / group, kh, kw)")
        if filters % groups:
            raise self.graph.error(node, f"{filters} filters do not split into {groups} groups",
                                   allowed="filters a multiple of group")
        dilations = list(attributes.get("dilations", [1, 1]))
        self._check_ints(node, "dilations", dilations, 1, 2)
        common = {"name": self._name(node), "inputs": (self._source(node),),
                  "bias": len(node.input) > 2 and bool(node.input[2]), "batchnorm": False,
                  "dilation": tuple(dilations),
                  **self._geometry(node, (kernel_h, kernel_w), pooling=False)}
        if groups > 1 and groups == channels:
            return DepthwiseConv2d(multiplier=filters // channels, **common)
        return Conv2d(out_channels=filters, groups=groups, **common)

    def _fully_connected(self, node, out_features: int, bias: bool) -> Layer:
        return FullyConnected(name=self._name(node), inputs=(self._source(node),),
                              out_features=out_features, bias=bias)

    def _gemm(self, node) -> Layer:
        attributes = self._attributes(node)
        if attributes.get("transA", 0):
            raise self.graph.error(node, "transA = 1 is not supported")
        shape = self._constant_shape(node, 1)
        out_features = shape[0] if attributes.get("transB", 0) else shape[1]
        return self._fully_connected(node, int(out_features),
                                     len(node.input) > 2 and bool(node.input[2]))

    def _matmul(self, node) -> Layer:
        shape = self._constant_shape(node, 1)
        if len(shape) != 2:
            raise self.graph.error(node, f"weights of shape {list(shape)}",
                                   allowed="a 2-D (features, out_features) constant")
        return self._fully_connected(node, int(shape[1]), False)

    def _pool(self, node, kind: type) -> Layer:
        attributes = self._attributes(node)
        kernel = tuple(attributes["kernel_shape"])
        geometry = self._geometry(node, kernel, pooling=True)
        if kind is AvgPool2d and attributes.get("count_include_pad", 0) and \
                any(geometry["padding"]):
            raise self.graph.error(node, "count_include_pad = 1 with padding is not supported",
                                   allowed="count_include_pad = 0 (padding excluded)")
        return kind(name=self._name(node), inputs=(self._source(node),), **geometry)

    def _maxpool(self, node) -> Layer:
        return self._pool(node, MaxPool2d)

    def _averagepool(self, node) -> Layer:
        return self._pool(node, AvgPool2d)

    def _globalaveragepool(self, node) -> Layer:
        return GlobalAvgPool(name=self._name(node), inputs=(self._source(node),))

    def _reducemean(self, node) -> Layer:
        """ReduceMean over H and W (either keepdims): axes as the attribute before opset 18,
        as the second input from it on."""
        if self.graph.opset < 18:
            axes = self._attributes(node).get("axes")
        else:
            value = self._value(node, 1)
            axes = None if value is None else [int(a) for a in value.reshape(-1)]
        if axes is None:
            raise self.graph.error(node, "a mean over every axis is not supported",
                                   allowed="axes [2, 3] (or [-2, -1]): global average pooling")
        axes = sorted(self._rank4_axis(node, axis, "ReduceMean") for axis in axes)
        if axes != [2, 3]:
            raise self.graph.error(node, f"mean over axes {axes}",
                                   allowed="axes [2, 3] (or [-2, -1]): global average pooling")
        return GlobalAvgPool(name=self._name(node), inputs=(self._source(node),))

    def _add(self, node) -> Layer | None:
        constants = [name for name in node.input if name in self.graph.constants]
        if constants:
            self._fold_bias(node, constants[0])
            return None
        return Add(name=self._name(node), inputs=(self._source(node, 0), self._source(node, 1)))

    def _fold_bias(self, node, constant: str) -> None:
        """An Add of a constant vector after a bias-less fc (MatMul + Add) is the fc's bias."""
        tensor = next(name for name in node.input if name != constant)
        layer = self._only_reader_layer(node, tensor)
        shape = self.graph.constants[constant].shape
        if not isinstance(layer, FullyConnected) or layer.bias or \
                layer.activation != Activation.NONE or \
                [d for d in shape if d != 1] != [layer.out_features]:
            raise self.graph.error(node, "adding a constant is supported only as the bias of a "
                                         "fully connected layer without one")
        self._replace(layer, dataclasses.replace(layer, bias=True), node.output[0])

    def _mul(self, node) -> Layer:
        if any(name in self.graph.constants for name in node.input):
            raise self.graph.error(node, "multiplying by a constant is not supported (only "
                                         "tensors: a squeeze-excitation gate, equal shapes)")
        return Mul(name=self._name(node), inputs=(self._source(node, 0), self._source(node, 1)))

    def _concat(self, node) -> Layer | None:
        axis = self._rank4_axis(node, self._attributes(node)["axis"], "Concat")
        if axis != 1:
            raise self.graph.error(node, f"concatenation on axis {axis}",
                                   allowed="axis 1 (channels)")
        sources = tuple(self._source(node, i) for i in range(len(node.input)))
        if len(sources) == 1:
            self.tensor[node.output[0]] = sources[0]
            return None
        return Concat(name=self._name(node), inputs=sources)

    def _split(self, node) -> None:
        """Split on channels: sizes from the ``split`` attribute (opset < 13), the second input
        (opset >= 13), or equal parts (``num_outputs`` from opset 18, else one per output)."""
        attributes = self._attributes(node)
        axis = self._rank4_axis(node, attributes.get("axis", 0), "Split")
        if axis != 1:
            raise self.graph.error(node, f"split on axis {axis}", allowed="axis 1 (channels)")
        channels = self._input_channels(node)
        if self.graph.opset < 13:
            sizes = attributes.get("split")
        else:
            value = self._value(node, 1)
            sizes = None if value is None else [int(v) for v in value.reshape(-1)]
        parts = len(node.output)
        if sizes is None:
            size = -(-channels // parts)   # ceil: the last part may be smaller (opset 18)
            sizes = [min(size, channels - i * size) for i in range(parts)]
        if len(sizes) != parts or sum(sizes) != channels or min(sizes) < 1:
            raise self.graph.error(node, f"split sizes {list(sizes)} of {channels} channels "
                                         f"into {parts} outputs",
                                   allowed=f"{parts} positive sizes adding up to {channels}")
        source, start = self._source(node), 0
        for output, size in zip(node.output, sizes, strict=True):
            if self.graph.readers(output):
                name = self._name(node) + f"_{start}_{start + size}"
                self._append(ChannelSlice(name=name, inputs=(source,), start=start,
                                          stop=start + size), output)
            start += size

    def _slice(self, node) -> Layer | None:
        shape = self._shape(node.input[0])
        if shape is None or len(shape) != 4 or None in shape[1:]:
            raise self.graph.error(node, "Slice needs a static 4-D N x C x H x W input")
        values = [None] + [self._value(node, i) for i in range(1, len(node.input))]
        bounds = slice_bounds(node, self.graph.opset, values, shape)
        start, stop = 0, shape[1]
        for axis, low, high, step in bounds:
            if axis == 1 and step == 1:
                start, stop = low, high
            elif axis in (2, 3) and (low, high, step) == (0, shape[axis], 1) or axis == 0:
                continue
            else:
                raise self.graph.error(node, f"slice of axis {axis} [{low}:{high}:{step}]",
                                       allowed="channels (axis 1) with step 1")
        if (start, stop) == (0, shape[1]):
            self.tensor[node.output[0]] = self._source(node)
            return None
        return ChannelSlice(name=self._name(node), inputs=(self._source(node),), start=start,
                            stop=stop)

    def _lrn(self, node) -> Layer:
        attributes = self._attributes(node)
        return LocalResponseNorm(name=self._name(node), inputs=(self._source(node),),
                                 size=int(attributes["size"]),
                                 alpha=float(attributes.get("alpha", 1e-4)),
                                 beta=float(attributes.get("beta", 0.75)),
                                 bias=float(attributes.get("bias", 1.0)))

    # --- shape-only nodes and patterns ------------------------------------------------------

    def _reshape_output(self, node) -> tuple | None:
        """The Reshape's static output shape: inferred, else from its folded target."""
        shape = self._shape(node.output[0])
        if shape is not None and None not in shape:
            return shape
        source = self._shape(node.input[0])
        target = self._value(node, 1)
        if source is None or None in source or target is None:
            return None
        allowzero = bool(self._attributes(node).get("allowzero", 0))
        return reshape_target(tuple(source), [int(v) for v in target.reshape(-1)], allowzero)

    def _reshape(self, node) -> None:
        source_shape = self._shape(node.input[0])
        out = self._reshape_output(node)
        if out is None:
            raise self.graph.error(node, "the reshape target is not static (it does not fold "
                                         "to a constant)")
        shuffle = channel_shuffle_groups(self.graph, node, out, source_shape)
        if shuffle is not None:
            groups, absorbed = shuffle
            self.absorbed.update(absorbed)
            back = self.graph.nodes[absorbed[-1]]
            self._append(ChannelShuffle(name=self._name(node), inputs=(self._source(node),),
                                        groups=groups), back.output[0])
            return
        if out == source_shape or (len(out) == 2 and out[0] in (1, None)):
            self.tensor[node.output[0]] = self._source(node)
            return
        raise self.graph.error(node, f"reshape to {list(out)} is not supported",
                               allowed="(N, features), the same shape, or a channel shuffle "
                                       "(Reshape-Transpose-Reshape)")

    def _output_softmax(self, node) -> None:
        """A softmax giving the graph output is no layer of ours (no MACs): it is dropped."""
        if node.output[0] not in self.graph.outputs:
            raise self.graph.error(node, "a softmax is supported only as the graph's output "
                                         "(it is then dropped)")
        self.tensor[node.output[0]] = self._source(node)
        self.notes.append(f"{self.graph.path}: {node.op_type} {node.name or node.output[0]} at "
                          "the output is not modelled (no MACs): the network ends before it")

    def _transpose(self, node) -> None:
        raise self.graph.error(node, "a transpose is supported only inside a channel shuffle "
                                     "(Reshape to N x g x C/g x H x W, perm (0, 2, 1, 3, 4), "
                                     "Reshape back)")

    def _pass_through(self, node) -> None:
        if node.op_type == "Flatten" and self._attributes(node).get("axis", 1) != 1:
            raise self.graph.error(node, "only a flatten from axis 1 is supported")
        if node.op_type == "Squeeze":
            shape = self._shape(node.output[0])
            if shape is None or len(shape) != 2:
                raise self.graph.error(node, "only a squeeze to (N, C) is supported")
        self.tensor[node.output[0]] = self._source(node)

    # --- folding ----------------------------------------------------------------------------

    def _only_reader_layer(self, node, tensor: str) -> Layer:
        """The layer producing ``tensor``, which ``node`` must be the only reader of."""
        source = self.tensor.get(tensor)
        if source is None or source == INPUT or self.graph.readers(tensor) != 1:
            raise self.graph.error(node, "can only be folded into a layer whose output it "
                                         "alone reads")
        return self.layers[self.index[source]]

    def _replace(self, old: Layer, new: Layer, output: str) -> None:
        self.layers[self.index[old.name]] = new
        self.tensor[output] = new.name

    def _fold(self, node, activation: Activation | None, tensor: str | None = None,
              output: str | None = None) -> None:
        """Fold a batch norm (``activation`` None) or an activation into the layer that
        produced ``tensor`` (default: the node's input), its output becoming ``output``."""
        layer = self._only_reader_layer(node, tensor or node.input[0]) if tensor is None else \
            self.layers[self.index[self.tensor[tensor]]]
        if activation is None:
            if not hasattr(layer, "batchnorm") or layer.batchnorm or \
                    getattr(layer, "activation", Activation.NONE) != Activation.NONE:
                raise self.graph.error(node, "a batch norm folds only into a convolution "
                                             "before its activation")
            new = dataclasses.replace(layer, batchnorm=True)
        else:
            if getattr(layer, "activation", None) != Activation.NONE:
                raise self.graph.error(node, "an activation folds only into a conv, fc, add or "
                                             "mul layer without one")
            new = dataclasses.replace(layer, activation=activation)
        self._replace(layer, new, output or node.output[0])

    def _gate(self, node) -> None:
        """Sigmoid / HardSigmoid: with ``Mul(x, gate(x))`` SiLU / hardswish, else the gate
        itself, folded into the layer producing x."""
        activation = self._activation(node)
        mul_at = gated_activation_mul(self.graph, node)
        if mul_at is None:
            self._fold(node, activation)
            return
        source = node.input[0]
        if self.tensor.get(source, INPUT) == INPUT:
            raise self.graph.error(node, "a gated activation of the network input is not "
                                         "supported")
        self.absorbed.add(mul_at)
        gated = Activation.SILU if activation == Activation.SIGMOID else Activation.HARDSWISH
        self._fold(node, gated, tensor=source, output=self.graph.nodes[mul_at].output[0])

    def _activation(self, node) -> Activation | None:
        op = node.op_type
        if op == "BatchNormalization":
            return None
        simple = {"Relu": Activation.RELU, "Sigmoid": Activation.SIGMOID,
                  "HardSwish": Activation.HARDSWISH}
        if op in simple:
            return simple[op]
        if op == "HardSigmoid":
            attributes = self._attributes(node)
            alpha, beta = attributes.get("alpha", 0.2), attributes.get("beta", 0.5)
            if abs(alpha - HARDSIGMOID_ALPHA) > 1e-6 or abs(beta - HARDSIGMOID_BETA) > 1e-6:
                raise self.graph.error(node, f"HardSigmoid alpha {alpha:g}, beta {beta:g}",
                                       allowed="alpha 1/6, beta 0.5 (PyTorch's hardsigmoid)")
            return Activation.HARDSIGMOID
        low, high = self._clip_bound(node, 1), self._clip_bound(node, 2)
        if low == 0 and high == 6:
            return Activation.RELU6
        if low == 0 and high is None:
            return Activation.RELU
        raise self.graph.error(node, f"Clip to [{low}, {high}] is not supported "
                                     f"(allowed: [0, 6] as relu6, [0, inf) as relu)")

    def _clip_bound(self, node, position: int) -> float | None:
        """Clip's bound from its constant input at ``position`` (opset 11 on)."""
        value = self._value(node, position)
        return None if value is None else float(value)


def _identifier(text: str) -> str:
    """A layer or network name: letters, digits and _ (ONNX names may hold / . : and more)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"n_{cleaned}"
