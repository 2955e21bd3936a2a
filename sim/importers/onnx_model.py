"""ONNX models into our networks (the ``onnx`` package, with its shape inference).

Supported operators: Conv (groups, including depthwise with a channel multiplier, strides,
explicit pads, dilations), Gemm and MatMul with constant weights (fully connected over the
flattened input), MaxPool, AveragePool, GlobalAveragePool, Add, and, folded into the layer that
produces their input: BatchNormalization (``batchnorm: true``), Relu and Clip to [0, 6]
(``relu`` / ``relu6``). Flatten, Reshape to (N, features), Identity and Dropout pass their input
through. Anything else is refused with the node's name and operator.

Tensors are NCHW in ONNX and NHWC here; batch 1 is assumed (the batch dimension is dropped).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from sim import limits as lim
from sim.config import ConfigError
from sim.workload.layers import (
    Activation,
    Add,
    AvgPool2d,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    Layer,
    LayerError,
    MaxPool2d,
    Shape,
)
from sim.workload.network import INPUT, Network, NetworkError

SUPPORTED = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "Add",
             "BatchNormalization", "Relu", "Clip", "Flatten", "Reshape", "Identity", "Dropout")
_PASS_THROUGH = ("Flatten", "Reshape", "Identity", "Dropout")


class _Graph:
    """The model's constants, value shapes and consumers, for one import."""

    def __init__(self, path: Path, model) -> None:
        from onnx import numpy_helper

        self.path = path
        self.graph = model.graph
        self.constants = {item.name: numpy_helper.to_array(item)
                          for item in self.graph.initializer}
        for node in self.graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = self._constant(node)
        self.shapes = {}
        for value in list(self.graph.value_info) + list(self.graph.input) + \
                list(self.graph.output):
            dims = value.type.tensor_type.shape.dim
            self.shapes[value.name] = tuple(dim.dim_value if dim.HasField("dim_value") else None
                                            for dim in dims)
        self.consumers: dict[str, int] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers[name] = self.consumers.get(name, 0) + 1
        for output in self.graph.output:
            self.consumers[output.name] = self.consumers.get(output.name, 0) + 1

    def _constant(self, node):
        """A Constant node's value, whichever attribute holds it (value, value_float, ...)."""
        import numpy as np
        import onnx
        from onnx import numpy_helper

        if len(node.attribute) != 1:
            raise self.error(node, "a Constant needs exactly one value attribute")
        value = onnx.helper.get_attribute_value(node.attribute[0])
        if isinstance(value, onnx.TensorProto):
            return numpy_helper.to_array(value)
        if isinstance(value, int | float | list):
            return np.array(value)
        raise self.error(node, f"unsupported Constant attribute {node.attribute[0].name}",
                         allowed="value, value_float(s), value_int(s)")

    def error(self, node, message: str, allowed: str = "") -> ConfigError:
        return ConfigError(self.path, message, field=f"node {node.name or '(unnamed)'} "
                                                     f"({node.op_type})", allowed=allowed)


def read_onnx(path: str | Path, name: str | None = None) -> Network:
    """Read an ONNX model file into a :class:`Network`."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "file not found")
    try:
        model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    except Exception as error:  # noqa: BLE001 - protobuf and checker raise many types
        raise ConfigError(path, f"cannot be read as ONNX: {str(error).splitlines()[0]}") \
            from None
    graph = _Graph(path, model)
    input_name, input_shape = _network_input(graph)
    builder = _Builder(graph, input_name)
    for node in graph.graph.node:
        try:
            builder.add(node)
        except (LayerError, ValueError, TypeError, KeyError, IndexError) as error:
            raise graph.error(node, f"cannot be imported: {error}") from None
    network_name = name or _identifier(graph.graph.name or path.stem)
    try:
        network = Network(network_name, input_shape, builder.layers)
    except NetworkError as error:
        raise ConfigError(path, error.message) from None
    problem = lim.network_size_problem(network.infos)
    if problem is not None:
        index, message, allowed = problem
        raise ConfigError(path, message, field=f"layer {network.infos[index].name}",
                          allowed=allowed)
    return network


def _network_input(graph: _Graph) -> tuple[str, Shape]:
    inputs = [value for value in graph.graph.input if value.name not in graph.constants]
    if len(inputs) != 1:
        raise ConfigError(graph.path, f"expected one graph input, found {len(inputs)}")
    shape = graph.shapes[inputs[0].name]
    if len(shape) != 4 or None in shape[1:]:
        raise ConfigError(graph.path, f"input {inputs[0].name}: expected a fixed NCHW shape, "
                                      f"got {list(shape)}")
    _, channels, height, width = shape
    for what, value, high in (("height", height, lim.MAX_RESOLUTION),
                              ("width", width, lim.MAX_RESOLUTION),
                              ("channels", channels, lim.MAX_CHANNELS)):
        if not 1 <= value <= high:
            raise ConfigError(graph.path, f"input {inputs[0].name}: {what} {value}",
                              allowed=lim.int_range(1, high))
    return inputs[0].name, Shape(height, width, channels)


class _Builder:
    """Turns nodes into layers, folding batch norms and activations into their producers."""

    def __init__(self, graph: _Graph, input_name: str) -> None:
        self.graph = graph
        self.layers: list[Layer] = []
        self.tensor = {input_name: INPUT}      # ONNX tensor -> our tensor (layer name)
        self.names: set[str] = set()

    def add(self, node) -> None:
        op = node.op_type
        if op == "Constant":
            return
        if op not in SUPPORTED:
            raise self.graph.error(node, f"unsupported operator (supported: "
                                         f"{', '.join(SUPPORTED)})")
        if op in _PASS_THROUGH:
            self._pass_through(node)
        elif op in ("BatchNormalization", "Relu", "Clip"):
            self._fold(node)
        else:
            layer = getattr(self, f"_{op.lower()}")(node)
            self.layers.append(layer)
            self.names.add(layer.name)
            self.tensor[node.output[0]] = layer.name

    def _source(self, node, index: int = 0) -> str:
        name = node.input[index]
        if name not in self.tensor:
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

    def _weights(self, node, index: int):
        if len(node.input) <= index or node.input[index] not in self.graph.constants:
            raise self.graph.error(node, f"input {index} must be a constant initializer")
        return self.graph.constants[node.input[index]]

    def _geometry(self, node, kernel: tuple[int, int]) -> dict:
        attributes = self._attributes(node)
        if attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise self.graph.error(node, "auto_pad is not supported; export explicit pads")
        if attributes.get("ceil_mode", 0):
            raise self.graph.error(node, "ceil_mode = 1 is not supported")
        strides = list(attributes.get("strides", [1, 1]))
        pads = list(attributes.get("pads", [0, 0, 0, 0]))
        self._check_ints(node, "kernel_shape", list(kernel), 1, 2)
        self._check_ints(node, "strides", strides, 1, 2)
        self._check_ints(node, "pads", pads, 0, 4)
        top, left, bottom, right = pads
        return {"kernel": kernel, "stride": tuple(strides), "padding": (top, bottom, left, right)}

    def _check_ints(self, node, attribute: str, values: list, low: int, count: int) -> None:
        """Refuse an attribute that is not ``count`` integers in ``low..MAX_WINDOW``."""
        allowed = f"{count} integers {lim.int_range(low, lim.MAX_WINDOW)}"
        if len(values) != count or not all(isinstance(v, int) and low <= v <= lim.MAX_WINDOW
                                           for v in values):
            raise self.graph.error(node, f"{attribute} {values}", allowed=allowed)

    def _input_channels(self, node) -> int | None:
        """The channels of the node's first input, when shape inference knows them."""
        shape = self.graph.shapes.get(node.input[0])
        return shape[1] if shape is not None and len(shape) == 4 else None

    def _conv(self, node) -> Layer:
        weights = self._weights(node, 1)
        filters, per_group, kernel_h, kernel_w = weights.shape
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
                  **self._geometry(node, (kernel_h, kernel_w))}
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
        weights = self._weights(node, 1)
        out_features = weights.shape[0] if attributes.get("transB", 0) else weights.shape[1]
        return self._fully_connected(node, int(out_features), len(node.input) > 2)

    def _matmul(self, node) -> Layer:
        return self._fully_connected(node, int(self._weights(node, 1).shape[1]), False)

    def _maxpool(self, node) -> Layer:
        kernel = tuple(self._attributes(node)["kernel_shape"])
        return MaxPool2d(name=self._name(node), inputs=(self._source(node),),
                         **self._geometry(node, kernel))

    def _averagepool(self, node) -> Layer:
        kernel = tuple(self._attributes(node)["kernel_shape"])
        return AvgPool2d(name=self._name(node), inputs=(self._source(node),),
                         **self._geometry(node, kernel))

    def _globalaveragepool(self, node) -> Layer:
        return GlobalAvgPool(name=self._name(node), inputs=(self._source(node),))

    def _add(self, node) -> Layer:
        if any(name in self.graph.constants for name in node.input):
            raise self.graph.error(node, "adding a constant is not supported (only tensors)")
        return Add(name=self._name(node), inputs=(self._source(node, 0), self._source(node, 1)))

    def _pass_through(self, node) -> None:
        if node.op_type == "Reshape":
            shape = self.graph.shapes.get(node.output[0], ())
            if len(shape) != 2:
                raise self.graph.error(node, "only a reshape to (N, features) is supported")
        self.tensor[node.output[0]] = self._source(node)

    def _fold(self, node) -> None:
        """Fold a batch norm or an activation into the layer that produced its input."""
        source = self._source(node)
        index = next((i for i, layer in enumerate(self.layers) if layer.name == source), None)
        if index is None or self.graph.consumers.get(node.input[0], 0) != 1:
            raise self.graph.error(node, "can only be folded into a layer whose output it "
                                         "alone reads")
        layer = self.layers[index]
        if node.op_type == "BatchNormalization":
            if not hasattr(layer, "batchnorm") or layer.batchnorm or \
                    getattr(layer, "activation", Activation.NONE) != Activation.NONE:
                raise self.graph.error(node, "a batch norm folds only into a convolution "
                                             "before its activation")
            layer = dataclasses.replace(layer, batchnorm=True)
        else:
            if getattr(layer, "activation", None) != Activation.NONE:
                raise self.graph.error(node, "an activation folds only into a conv, FC or add "
                                             "layer without one")
            layer = dataclasses.replace(layer, activation=self._activation(node))
        self.layers[index] = layer
        self.tensor[node.output[0]] = layer.name

    def _activation(self, node) -> Activation:
        if node.op_type == "Relu":
            return Activation.RELU
        attributes = self._attributes(node)   # opset < 11 keeps min and max as attributes
        low = self._clip_bound(node, 1, attributes.get("min"))
        high = self._clip_bound(node, 2, attributes.get("max"))
        if low == 0 and high == 6:
            return Activation.RELU6
        if low == 0 and high is None:
            return Activation.RELU
        raise self.graph.error(node, f"Clip to [{low}, {high}] is not supported "
                                     f"(allowed: [0, 6] as relu6, [0, inf) as relu)")

    def _clip_bound(self, node, position: int, attribute: float | None) -> float | None:
        """Clip's bound from its constant input at ``position``, else from the attribute."""
        if len(node.input) > position and node.input[position]:
            return float(self._weights(node, position))
        return attribute


def _identifier(text: str) -> str:
    """A layer or network name: letters, digits and _ (ONNX names may hold / . : and more)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"n_{cleaned}"
