"""Mapping the ONNX nodes that become compute and pooling layers: Conv, Gemm, MatMul,
MaxPool, AveragePool, GlobalAveragePool, ReduceMean (over H and W), Add, Mul, LRN."""

from __future__ import annotations

import dataclasses

from sim import limits as lim
from sim.importers.onnx_mapper import MapperState
from sim.workload.layers import (
    Activation,
    Add,
    AvgPool2d,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    Layer,
    LocalResponseNorm,
    MaxPool2d,
    Mul,
)


class LayerMappers(MapperState):
    """One method per operator, named after it; each returns the layer (or None when the node
    folded into an existing one)."""

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

    def _lrn(self, node) -> Layer:
        attributes = self._attributes(node)
        return LocalResponseNorm(name=self._name(node), inputs=(self._source(node),),
                                 size=int(attributes["size"]),
                                 alpha=float(attributes.get("alpha", 1e-4)),
                                 beta=float(attributes.get("beta", 0.75)),
                                 bias=float(attributes.get("bias", 1.0)))
