"""A CNN as a graph of layers in execution order, with shapes, parameters and MACs derived.

Every tensor is named after the layer that produces it; the network input is named ``input``.
A layer whose ``inputs`` is empty reads the output of the layer before it. Residual edges are
kept as named inputs, so the last use of every tensor (its liveness) can be computed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

from sim.workload.layers import (
    ChannelShuffle,
    ChannelSlice,
    Concat,
    ConvLayer,
    DepthwiseConv2d,
    FullyConnected,
    Layer,
    LayerError,
    LocalResponseNorm,
    Shape,
)

INPUT = "input"


class NetworkError(ValueError):
    """A network whose graph is inconsistent. ``layer_index`` and ``field`` locate the problem."""

    def __init__(self, layer_index: int | None, field: str, message: str) -> None:
        super().__init__(message)
        self.layer_index = layer_index
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LayerInfo:
    """One layer placed in its network: resolved inputs, shapes (elements), params and MACs."""

    index: int
    layer: Layer
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    macs: int

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def kind(self) -> str:
        return str(self.layer.kind)

    @cached_property
    def gemm(self) -> tuple[int, int, int, bool]:
        """The layer's GEMM view: (dot-product length K, filters per group, groups, whether
        it has weights); (0, 0, 1, False) for a layer without (pooling, add, ...). Computed
        once per layer: planners ask for it for every candidate tile."""
        layer = self.layer
        if isinstance(layer, ConvLayer):
            geometry = layer.geometry(self.input_shapes[0].channels)
            return (geometry.weight_elements // geometry.out_channels,
                    geometry.out_channels // geometry.groups, geometry.groups, True)
        if isinstance(layer, FullyConnected):
            return self.input_shapes[0].elements, layer.out_features, 1, True
        return 0, 0, 1, False

    @cached_property
    def channelwise(self) -> bool:
        """Each output channel depends on the same input channel only (depthwise, pooling,
        add, mul), so the layer can be split into channel slices of input, weights and output
        alike. Concat, slice, shuffle and LRN move or mix channels, so they are not."""
        layer = self.layer
        if isinstance(layer, Concat | ChannelSlice | ChannelShuffle | LocalResponseNorm):
            return False
        return isinstance(layer, DepthwiseConv2d) or not self.gemm[1] and not isinstance(
            layer, FullyConnected)


@dataclass(frozen=True)
class Network:
    """An immutable network: a name, the input shape of one image, and layers in execution order."""

    name: str
    input_shape: Shape
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        # Spell out every implicit "previous layer" input, so equal graphs compare equal.
        explicit = []
        previous = INPUT
        for layer in self.layers:
            if not layer.inputs:
                layer = dataclasses.replace(layer, inputs=(previous,))
            explicit.append(layer)
            previous = layer.name
        object.__setattr__(self, "layers", tuple(explicit))
        self.infos  # noqa: B018  (validate eagerly: a Network that exists is consistent)

    @cached_property
    def infos(self) -> tuple[LayerInfo, ...]:
        if not self.layers:
            raise NetworkError(None, "layers", "a network needs at least one layer")
        shapes: dict[str, Shape] = {INPUT: self.input_shape}
        infos = []
        for index, layer in enumerate(self.layers):
            if layer.name in shapes:
                raise NetworkError(index, "name", f"duplicate tensor name {layer.name!r}")
            inputs = layer.inputs
            for source in inputs:
                if source not in shapes:
                    raise NetworkError(
                        index, "inputs",
                        f"layer {layer.name!r} reads {source!r}, which is not the network input "
                        "or an earlier layer",
                    )
            input_shapes = [shapes[source] for source in inputs]
            try:
                output = layer.output_shape(input_shapes)
                params = layer.params(input_shapes)
                macs = layer.macs(input_shapes)
            except LayerError as error:
                raise NetworkError(index, error.field, str(error)) from None
            shapes[layer.name] = output
            infos.append(
                LayerInfo(index, layer, tuple(inputs), tuple(input_shapes), output, params, macs)
            )
        return tuple(infos)

    @cached_property
    def _by_name(self) -> dict[str, LayerInfo]:
        return {info.name: info for info in self.infos}

    def __getitem__(self, name: str) -> LayerInfo:
        return self._by_name[name]

    def tensor_shape(self, tensor: str) -> Shape:
        """Shape of a tensor by name (the network input included)."""
        return self.input_shape if tensor == INPUT else self[tensor].output_shape

    @property
    def output_name(self) -> str:
        return self.infos[-1].name

    @property
    def output_shape(self) -> Shape:
        return self.infos[-1].output_shape

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.infos)

    @property
    def total_macs(self) -> int:
        return sum(info.macs for info in self.infos)

    @cached_property
    def consumers(self) -> dict[str, tuple[int, ...]]:
        """Indices of the layers that read each tensor (the input included), in execution order."""
        readers: dict[str, list[int]] = {INPUT: []}
        for info in self.infos:
            readers.setdefault(info.name, [])
            for source in info.inputs:
                readers[source].append(info.index)
        return {name: tuple(indices) for name, indices in readers.items()}

    def producer(self, tensor: str) -> int:
        """Index of the layer that writes ``tensor``; -1 for the network input."""
        return -1 if tensor == INPUT else self[tensor].index

    def last_use(self, tensor: str) -> int:
        """Index of the last layer that reads ``tensor``.

        The network output lives to the end; a tensor nobody reads dies where it is made.
        """
        if tensor == self.output_name:
            return len(self.infos) - 1
        readers = self.consumers[tensor]
        return readers[-1] if readers else self.producer(tensor)

    def with_input(self, input_shape: Shape) -> Network:
        """The same layers applied to another input size (shapes re-derived)."""
        return Network(self.name, input_shape, self.layers)
