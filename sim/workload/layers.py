"""Layer kinds of a CNN workload and the arithmetic derived from them.

Shapes are NHWC with batch 1 implied: a :class:`Shape` is (height, width, channels) in elements.
Weights are laid out (kh, kw, cin/groups, cout). Parameter counts follow torchvision: a batch-norm
layer contributes its scale and shift (2 parameters per channel); running statistics are buffers,
not parameters. MACs are multiply-accumulates of convolutions and fully connected layers only;
pooling, additions, elementwise products, concatenations, channel slices and shuffles, local
response normalization and activations are counted as zero MACs.
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
    MUL = "mul"
    CONCAT = "concat"
    SLICE = "slice"
    CHANNEL_SHUFFLE = "channel_shuffle"
    LRN = "lrn"


class Activation(StrEnum):
    """Elementwise functions folded into the layer that produces their input (no MACs).

    ``hardsigmoid`` is PyTorch's: relu6(x + 3) / 6; ``hardswish`` is x * hardsigmoid(x);
    ``silu`` is x * sigmoid(x).
    """

    NONE = "none"
    RELU = "relu"
    RELU6 = "relu6"
    SIGMOID = "sigmoid"
    HARDSIGMOID = "hardsigmoid"
    HARDSWISH = "hardswish"
    SILU = "silu"


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


def _pool_output_size(size: int, pad_before: int, pad_after: int, kernel: int, stride: int,
                      ceil_mode: bool) -> int:
    """Output size of a pooling window along one axis, or 0 when the kernel does not fit.

    floor mode: floor((size + pads - kernel) / stride) + 1. ceil mode (PyTorch's and ONNX's
    ``ceil_mode``): ceil(...) + 1, less one when the last window would start beyond the input
    and its leading padding.
    """
    padded = size + pad_before + pad_after
    if padded < kernel:
        return 0
    if not ceil_mode:
        return (padded - kernel) // stride + 1
    out = -(-(padded - kernel) // stride) + 1
    if (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


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
    """Windowed pooling. ``ceil_mode`` rounds the output size up (see :func:`_pool_output_size`);
    the windows that then hang over the bottom or right edge pool only the elements inside."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    ceil_mode: bool = False

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
        out_h = _pool_output_size(shape.height, top, bottom, self.kernel[0], self.stride[0],
                                  self.ceil_mode)
        out_w = _pool_output_size(shape.width, left, right, self.kernel[1], self.stride[1],
                                  self.ceil_mode)
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


def _shape_text(shape: Shape) -> str:
    return "x".join(map(str, shape.as_tuple()))


@dataclass(frozen=True, kw_only=True)
class Mul(Layer):
    """Elementwise product of two tensors: equal shapes, or H x W x C times a 1 x 1 x C gate
    broadcast over every pixel (squeeze-and-excitation). The output has the larger shape."""

    activation: Activation = Activation.NONE

    kind: ClassVar[LayerKind] = LayerKind.MUL

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs) != 2:
            raise LayerError(self.name, "inputs", f"takes exactly 2 inputs, got {len(inputs)}")
        first, second = inputs
        if first == second:
            return first
        big, small = (first, second) if first.elements >= second.elements else (second, first)
        if (small.height, small.width) != (1, 1) or small.channels != big.channels:
            raise LayerError(
                self.name, "inputs",
                f"shapes {_shape_text(first)} and {_shape_text(second)} do not broadcast "
                "(allowed: equal shapes, or H x W x C with 1 x 1 x C)")
        return big

    def broadcast_inputs(self, inputs: list[Shape]) -> tuple[bool, ...]:
        """For each input, True when it is a 1 x 1 x C operand read whole for every pixel."""
        out = self.output_shape(inputs)
        return tuple(shape != out for shape in inputs)


@dataclass(frozen=True, kw_only=True)
class Concat(Layer):
    """Channel concatenation of two or more tensors of equal height and width, in input order.

    On chip it can cost nothing: when its inputs are written straight into their channel slices
    of one buffer (see :mod:`sim.peak`), no copy happens. No parameters, no MACs.
    """

    kind: ClassVar[LayerKind] = LayerKind.CONCAT

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs) < 2:
            raise LayerError(self.name, "inputs", f"needs at least 2 inputs, got {len(inputs)}")
        if any((s.height, s.width) != (inputs[0].height, inputs[0].width) for s in inputs):
            shapes = ", ".join(_shape_text(s) for s in inputs)
            raise LayerError(self.name, "inputs", f"heights and widths differ: {shapes}")
        return Shape(inputs[0].height, inputs[0].width, sum(s.channels for s in inputs))


@dataclass(frozen=True, kw_only=True)
class ChannelSlice(Layer):
    """Channels [start, stop) of its input (a Split or Slice along channels). No MACs."""

    start: int = 0
    stop: int = 1

    kind: ClassVar[LayerKind] = LayerKind.SLICE

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape = self._single_input(inputs)
        if not 0 <= self.start < self.stop <= shape.channels:
            raise LayerError(self.name, "stop",
                             f"channels [{self.start}, {self.stop}) are not inside the input's "
                             f"{shape.channels} (allowed: 0 <= start < stop <= {shape.channels})")
        return Shape(shape.height, shape.width, self.stop - self.start)


@dataclass(frozen=True, kw_only=True)
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: view C channels as (groups, C/groups), transpose, flatten.

    Output channel ``j * groups + g`` is input channel ``g * (C/groups) + j``. No MACs.
    """

    groups: int = 2

    kind: ClassVar[LayerKind] = LayerKind.CHANNEL_SHUFFLE

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape = self._single_input(inputs)
        if self.groups < 1 or shape.channels % self.groups:
            raise LayerError(self.name, "groups",
                             f"{shape.channels} channels do not split into {self.groups} groups")
        return shape


@dataclass(frozen=True, kw_only=True)
class LocalResponseNorm(Layer):
    """Local response normalization across channels (AlexNet):
    ``b_c = a_c / (bias + alpha / size * sum of a_k**2 over the size channels around c)**beta``.

    A zero-MAC normalization layer without parameters.
    """

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    bias: float = 1.0

    kind: ClassVar[LayerKind] = LayerKind.LRN

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if self.size < 1:
            raise LayerError(self.name, "size", f"got {self.size} (allowed: a positive integer)")
        return self._single_input(inputs)


CONV_LAYERS = (Conv2d, DepthwiseConv2d, PointwiseConv2d)
