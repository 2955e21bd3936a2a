"""Layer kinds of a CNN workload and the arithmetic derived from them.

Shapes are NHWC with batch 1 implied: a :class:`Shape` is (height, width, channels) in elements.
Weights are laid out (kh, kw, cin/groups, cout). Parameter counts follow torchvision: a batch-norm
layer contributes its scale and shift (2 parameters per channel); running statistics are buffers,
not parameters. MACs are multiply-accumulates of convolutions and fully connected layers only;
pooling and additions are counted as zero MACs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class LayerError(ValueError):
    """A layer that cannot be applied to its input. ``field`` names the offending attribute."""

    def __init__(self, layer: str, field: str, message: str) -> None:
        super().__init__(f"layer {layer!r}: {field}: {message}")
        self.layer = layer
        self.field = field
        self.message = message


class LayerKind(StrEnum):
    CONV2D = "conv2d"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    FC = "fc"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"
    GLOBAL_AVGPOOL = "global_avgpool"
    ADD = "add"


class Activation(StrEnum):
    NONE = "none"
    RELU = "relu"
    RELU6 = "relu6"


@dataclass(frozen=True)
class Shape:
    """A feature map of one image: height x width x channels, in elements."""

    height: int
    width: int
    channels: int

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)


@dataclass(frozen=True)
class ConvGeometry:
    """Everything needed to run one convolution.

    Sizes are in elements; padding is (top, bottom, left, right).
    """

    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """(kh, kw, cin/groups, cout)."""
        return (self.kernel[0], self.kernel[1], self.in_channels // self.groups, self.out_channels)

    @property
    def weight_elements(self) -> int:
        kh, kw, cin_per_group, cout = self.weight_shape
        return kh * kw * cin_per_group * cout

    @property
    def macs_per_output_pixel(self) -> int:
        """MACs to produce all output channels of one output pixel."""
        return self.weight_elements

    def output_hw(self, height: int, width: int) -> tuple[int, int]:
        top, bottom, left, right = self.padding
        out_h = _output_size(height + top + bottom, self.kernel[0], self.stride[0],
                             self.dilation[0])
        out_w = _output_size(width + left + right, self.kernel[1], self.stride[1], self.dilation[1])
        return out_h, out_w


def _output_size(padded: int, kernel: int, stride: int, dilation: int) -> int:
    """floor((padded - dilation*(kernel-1) - 1) / stride) + 1, or 0 when the kernel does not fit."""
    span = dilation * (kernel - 1) + 1
    if padded < span:
        return 0
    return (padded - span) // stride + 1


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def _padding4(value: int | tuple[int, ...]) -> tuple[int, int, int, int]:
    """int -> all sides; (ph, pw) -> top=bottom=ph, left=right=pw; (t, b, l, r) as given."""
    if isinstance(value, int):
        return (value, value, value, value)
    values = tuple(int(v) for v in value)
    if len(values) == 2:
        return (values[0], values[0], values[1], values[1])
    if len(values) == 4:
        return values  # type: ignore[return-value]
    raise ValueError(f"padding must have 1, 2 or 4 values, not {len(values)}")


@dataclass(frozen=True, kw_only=True)
class Layer:
    """Common part of every layer: a unique name and the names of the tensors it reads.

    An empty ``inputs`` means "the previous layer's output" (or the network input for the first).
    """

    name: str
    inputs: tuple[str, ...] = ()

    kind: ClassVar[LayerKind]

    def output_shape(self, inputs: list[Shape]) -> Shape:
        raise NotImplementedError

    def params(self, inputs: list[Shape]) -> int:
        return 0

    def macs(self, inputs: list[Shape]) -> int:
        return 0

    def _single_input(self, inputs: list[Shape]) -> Shape:
        if len(inputs) != 1:
            raise LayerError(self.name, "inputs", f"takes exactly 1 input, got {len(inputs)}")
        return inputs[0]


@dataclass(frozen=True, kw_only=True)
class ConvLayer(Layer):
    bias: bool = False
    batchnorm: bool = True
    activation: Activation = Activation.NONE

    def geometry(self, in_channels: int) -> ConvGeometry:
        raise NotImplementedError

    def _checked_geometry(self, inputs: list[Shape]) -> tuple[Shape, ConvGeometry]:
        shape = self._single_input(inputs)
        geometry = self.geometry(shape.channels)
        if geometry.in_channels % geometry.groups:
            raise LayerError(
                self.name, "groups",
                f"input channels {geometry.in_channels} are not divisible by groups "
                f"{geometry.groups}",
            )
        if geometry.out_channels % geometry.groups:
            raise LayerError(
                self.name, "groups",
                f"output channels {geometry.out_channels} are not divisible by groups "
                f"{geometry.groups}",
            )
        out_h, out_w = geometry.output_hw(shape.height, shape.width)
        if out_h < 1 or out_w < 1:
            raise LayerError(
                self.name, "kernel",
                f"kernel {geometry.kernel} (dilation {geometry.dilation}) does not fit the padded "
                f"input {shape.height}x{shape.width} (padding {geometry.padding})",
            )
        return shape, geometry

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape, geometry = self._checked_geometry(inputs)
        out_h, out_w = geometry.output_hw(shape.height, shape.width)
        return Shape(out_h, out_w, geometry.out_channels)

    def params(self, inputs: list[Shape]) -> int:
        _, geometry = self._checked_geometry(inputs)
        count = geometry.weight_elements
        if self.bias:
            count += geometry.out_channels
        if self.batchnorm:
            count += 2 * geometry.out_channels
        return count

    def macs(self, inputs: list[Shape]) -> int:
        out = self.output_shape(inputs)
        _, geometry = self._checked_geometry(inputs)
        return out.height * out.width * geometry.macs_per_output_pixel


@dataclass(frozen=True, kw_only=True)
class Conv2d(ConvLayer):
    """General 2-D convolution. ``padding`` is int, (ph, pw) or (top, bottom, left, right)."""

    out_channels: int = 1
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    kind: ClassVar[LayerKind] = LayerKind.CONV2D

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _pair(self.kernel))
        object.__setattr__(self, "stride", _pair(self.stride))
        object.__setattr__(self, "padding", _padding4(self.padding))
        object.__setattr__(self, "dilation", _pair(self.dilation))

    def geometry(self, in_channels: int) -> ConvGeometry:
        return ConvGeometry(
            in_channels, self.out_channels, self.kernel, self.stride, self.padding,
            self.dilation, self.groups,
        )


@dataclass(frozen=True, kw_only=True)
class DepthwiseConv2d(ConvLayer):
    """Depthwise convolution: groups = input channels, ``multiplier`` outputs per input channel."""

    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    multiplier: int = 1

    kind: ClassVar[LayerKind] = LayerKind.DEPTHWISE

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _pair(self.kernel))
        object.__setattr__(self, "stride", _pair(self.stride))
        object.__setattr__(self, "padding", _padding4(self.padding))
        object.__setattr__(self, "dilation", _pair(self.dilation))

    def geometry(self, in_channels: int) -> ConvGeometry:
        return ConvGeometry(
            in_channels, in_channels * self.multiplier, self.kernel, self.stride, self.padding,
            self.dilation, in_channels,
        )


@dataclass(frozen=True, kw_only=True)
class PointwiseConv2d(ConvLayer):
    """1x1 convolution (optionally grouped and strided), no padding."""

    out_channels: int = 1
    stride: tuple[int, int] = (1, 1)
    groups: int = 1

    kind: ClassVar[LayerKind] = LayerKind.POINTWISE

    def __post_init__(self) -> None:
        object.__setattr__(self, "stride", _pair(self.stride))

    def geometry(self, in_channels: int) -> ConvGeometry:
        return ConvGeometry(
            in_channels, self.out_channels, (1, 1), self.stride, (0, 0, 0, 0), (1, 1), self.groups,
        )


@dataclass(frozen=True, kw_only=True)
class FullyConnected(Layer):
    """Dense layer over the flattened input (height * width * channels features)."""

    out_features: int = 1
    bias: bool = True
    activation: Activation = Activation.NONE

    kind: ClassVar[LayerKind] = LayerKind.FC

    def in_features(self, inputs: list[Shape]) -> int:
        return self._single_input(inputs).elements

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self._single_input(inputs)
        return Shape(1, 1, self.out_features)

    def params(self, inputs: list[Shape]) -> int:
        biases = self.out_features if self.bias else 0
        return self.in_features(inputs) * self.out_features + biases

    def macs(self, inputs: list[Shape]) -> int:
        return self.in_features(inputs) * self.out_features


@dataclass(frozen=True, kw_only=True)
class PoolLayer(Layer):
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _pair(self.kernel))
        object.__setattr__(
            self, "stride", self.kernel if self.stride is None else _pair(self.stride)
        )
        object.__setattr__(self, "padding", _padding4(self.padding))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape = self._single_input(inputs)
        top, bottom, left, right = self.padding
        if max(top, bottom) * 2 > self.kernel[0] or max(left, right) * 2 > self.kernel[1]:
            raise LayerError(self.name, "padding",
                             "pooling padding must be at most half the kernel")
        assert self.stride is not None
        out_h = _output_size(shape.height + top + bottom, self.kernel[0], self.stride[0], 1)
        out_w = _output_size(shape.width + left + right, self.kernel[1], self.stride[1], 1)
        if out_h < 1 or out_w < 1:
            raise LayerError(
                self.name, "kernel",
                f"kernel {self.kernel} does not fit the input {shape.height}x{shape.width}",
            )
        return Shape(out_h, out_w, shape.channels)


@dataclass(frozen=True, kw_only=True)
class MaxPool2d(PoolLayer):
    kind: ClassVar[LayerKind] = LayerKind.MAXPOOL


@dataclass(frozen=True, kw_only=True)
class AvgPool2d(PoolLayer):
    """Average pooling; padded positions are excluded from the mean (count_include_pad=False)."""

    kind: ClassVar[LayerKind] = LayerKind.AVGPOOL


@dataclass(frozen=True, kw_only=True)
class GlobalAvgPool(Layer):
    kind: ClassVar[LayerKind] = LayerKind.GLOBAL_AVGPOOL

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return Shape(1, 1, self._single_input(inputs).channels)


@dataclass(frozen=True, kw_only=True)
class Add(Layer):
    """Elementwise sum of two or more tensors of equal shape (a residual connection)."""

    activation: Activation = Activation.NONE

    kind: ClassVar[LayerKind] = LayerKind.ADD

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs) < 2:
            raise LayerError(self.name, "inputs", f"needs at least 2 inputs, got {len(inputs)}")
        if any(shape != inputs[0] for shape in inputs):
            shapes = ", ".join("x".join(map(str, s.as_tuple())) for s in inputs)
            raise LayerError(self.name, "inputs", f"input shapes differ: {shapes}")
        return inputs[0]


CONV_LAYERS = (Conv2d, DepthwiseConv2d, PointwiseConv2d)
