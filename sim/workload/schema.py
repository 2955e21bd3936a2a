"""The network YAML format, validated with pydantic.

```yaml
name: my_net
input: {height: 32, width: 32, channels: 3}
layers:
  - {name: conv1, kind: conv2d, out_channels: 16, kernel: 3, padding: 1, activation: relu}
  - {name: dw1, kind: depthwise, kernel: 3, stride: 2, padding: 1}
  - {name: pw1, kind: pointwise, out_channels: 16}
  - {name: add1, kind: add, inputs: [pw1, conv1]}   # shapes must match
  - {name: half, kind: slice, start: 0, stop: 8}     # channels [0, 8) of add1
  - {name: both, kind: concat, inputs: [half, add1]} # equal height and width
  - {name: mix, kind: channel_shuffle, groups: 2}
```
Other kinds: ``mul`` (two inputs: equal shapes or H x W x C with a 1 x 1 x C gate), ``lrn``
(``size``, ``alpha``, ``beta``, ``bias``), pooling with ``ceil_mode: true``. Activations:
none, relu, relu6, sigmoid, hardsigmoid, hardswish, silu.
``kernel``, ``stride`` and ``dilation`` take an int or [h, w]; ``padding`` an int, [h, w] or
[top, bottom, left, right]. ``inputs`` defaults to the previous layer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from sim import limits as lim
from sim.workload import layers as L

Resolution = lim.bounded_int(1, lim.MAX_RESOLUTION)
Channels = lim.bounded_int(1, lim.MAX_CHANNELS)
Features = lim.bounded_int(1, lim.MAX_FEATURES)
Multiplier = lim.bounded_int(1, lim.MAX_MULTIPLIER)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or_list(lengths: tuple[int, ...], minimum: int, meaning: str):
    """A validator for "an int, or a list of ``lengths`` ints", each in
    ``minimum..MAX_WINDOW``."""
    def check(value: object) -> object:
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) not in (1, *lengths) or not all(_is_int(v) for v in values) or (
            isinstance(value, list | tuple) and len(values) == 1
        ):
            raise ValueError(f"expected {meaning}, got {value!r}")
        if any(v < minimum for v in values):
            raise ValueError(f"every value must be >= {minimum}, got {value!r}")
        if any(v > lim.MAX_WINDOW for v in values):
            raise lim.out_of_range(value, lim.int_range(minimum, lim.MAX_WINDOW))
        return value if _is_int(value) else tuple(values)
    return BeforeValidator(check)


Pair = Annotated[
    int | tuple[int, int],
    _int_or_list((2,), 1, "a positive integer or a list [height, width] of them"),
]
Padding = Annotated[
    int | tuple[int, int] | tuple[int, int, int, int],
    _int_or_list((2, 4), 0, "an integer >= 0, [height, width] or [top, bottom, left, right]"),
]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")]
ActivationName = Literal["none", "relu", "relu6", "sigmoid", "hardsigmoid", "hardswish", "silu"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def check_padding(kernel: int | tuple[int, ...], padding: int | tuple[int, ...],
                  dilation: int | tuple[int, ...] = 1) -> None:
    """Refuse padding wider than the window's reach: an output window would see no input.

    Each side is at most ``dilation * (kernel - 1)`` pixels (height for top/bottom, width for
    left/right).
    """
    reach = [d * (k - 1) for k, d in zip(_pair(kernel), _pair(dilation), strict=True)]
    sides = (padding,) * 4 if isinstance(padding, int) else (
        (padding[0], padding[0], padding[1], padding[1]) if len(padding) == 2 else padding)
    limits = (reach[0], reach[0], reach[1], reach[1])
    if any(side > limit for side, limit in zip(sides, limits, strict=True)):
        raise ValueError(f"padding {padding!r} reaches past the window: an output would see no "
                         f"input pixel (allowed: at most dilation x (kernel - 1) = "
                         f"{reach[0]} x {reach[1]} per side)")


class InputSpec(_Strict):
    height: Resolution
    width: Resolution
    channels: Channels


class _LayerSpec(_Strict):
    name: Name
    inputs: list[Name] = Field(default=[], max_length=64)


class _ConvSpec(_LayerSpec):
    bias: StrictBool = False
    batchnorm: StrictBool = True
    activation: ActivationName = "none"


class Conv2dSpec(_ConvSpec):
    kind: Literal["conv2d"]
    out_channels: Channels
    kernel: Pair
    stride: Pair = 1
    padding: Padding = 0
    dilation: Pair = 1
    groups: Channels = 1

    @model_validator(mode="after")
    def _padding_within_reach(self) -> Conv2dSpec:
        check_padding(self.kernel, self.padding, self.dilation)
        return self


class DepthwiseSpec(_ConvSpec):
    kind: Literal["depthwise"]
    kernel: Pair
    stride: Pair = 1
    padding: Padding = 0
    dilation: Pair = 1
    multiplier: Multiplier = 1

    @model_validator(mode="after")
    def _padding_within_reach(self) -> DepthwiseSpec:
        check_padding(self.kernel, self.padding, self.dilation)
        return self


class PointwiseSpec(_ConvSpec):
    kind: Literal["pointwise"]
    out_channels: Channels
    stride: Pair = 1
    groups: Channels = 1


class FullyConnectedSpec(_LayerSpec):
    kind: Literal["fc"]
    out_features: Features
    bias: StrictBool = True
    activation: ActivationName = "none"


class MaxPoolSpec(_LayerSpec):
    kind: Literal["maxpool"]
    kernel: Pair
    stride: Pair | None = None
    padding: Padding = 0
    ceil_mode: StrictBool = False

    @model_validator(mode="after")
    def _padding_within_reach(self) -> MaxPoolSpec:
        check_padding(self.kernel, self.padding, 1)
        return self


class AvgPoolSpec(_LayerSpec):
    kind: Literal["avgpool"]
    kernel: Pair
    stride: Pair | None = None
    padding: Padding = 0
    ceil_mode: StrictBool = False

    @model_validator(mode="after")
    def _padding_within_reach(self) -> AvgPoolSpec:
        check_padding(self.kernel, self.padding, 1)
        return self


class GlobalAvgPoolSpec(_LayerSpec):
    kind: Literal["global_avgpool"]


class AddSpec(_LayerSpec):
    kind: Literal["add"]
    inputs: list[Name] = Field(min_length=2, max_length=64)
    activation: ActivationName = "none"


class MulSpec(_LayerSpec):
    kind: Literal["mul"]
    inputs: list[Name] = Field(min_length=2, max_length=2)
    activation: ActivationName = "none"


class ConcatSpec(_LayerSpec):
    kind: Literal["concat"]
    inputs: list[Name] = Field(min_length=2)


class SliceSpec(_LayerSpec):
    kind: Literal["slice"]
    start: lim.bounded_int(0, lim.MAX_CHANNELS - 1)  # type: ignore[valid-type]
    stop: Channels  # type: ignore[valid-type]


class ChannelShuffleSpec(_LayerSpec):
    kind: Literal["channel_shuffle"]
    groups: Channels  # type: ignore[valid-type]


class LrnSpec(_LayerSpec):
    kind: Literal["lrn"]
    size: lim.bounded_int(1, lim.MAX_WINDOW)  # type: ignore[valid-type]
    alpha: lim.bounded_float(0, 1e9, low_open=True) = 1e-4  # type: ignore[valid-type]
    beta: lim.bounded_float(0, 1e9, low_open=True) = 0.75  # type: ignore[valid-type]
    bias: lim.bounded_float(0, 1e9, low_open=True) = 1.0  # type: ignore[valid-type]


LayerSpec = Annotated[
    Conv2dSpec | DepthwiseSpec | PointwiseSpec | FullyConnectedSpec | MaxPoolSpec | AvgPoolSpec
    | GlobalAvgPoolSpec | AddSpec | MulSpec | ConcatSpec | SliceSpec | ChannelShuffleSpec
    | LrnSpec,
    Field(discriminator="kind"),
]

_LAYER_CLASSES: dict[str, type[L.Layer]] = {
    "conv2d": L.Conv2d,
    "depthwise": L.DepthwiseConv2d,
    "pointwise": L.PointwiseConv2d,
    "fc": L.FullyConnected,
    "maxpool": L.MaxPool2d,
    "avgpool": L.AvgPool2d,
    "global_avgpool": L.GlobalAvgPool,
    "add": L.Add,
    "mul": L.Mul,
    "concat": L.Concat,
    "slice": L.ChannelSlice,
    "channel_shuffle": L.ChannelShuffle,
    "lrn": L.LocalResponseNorm,
}

SPEC_CLASSES: dict[str, type[_LayerSpec]] = {
    "conv2d": Conv2dSpec, "depthwise": DepthwiseSpec, "pointwise": PointwiseSpec,
    "fc": FullyConnectedSpec, "maxpool": MaxPoolSpec, "avgpool": AvgPoolSpec,
    "global_avgpool": GlobalAvgPoolSpec, "add": AddSpec, "mul": MulSpec, "concat": ConcatSpec,
    "slice": SliceSpec, "channel_shuffle": ChannelShuffleSpec, "lrn": LrnSpec,
}


def required_fields(kind: str) -> tuple[str, ...]:
    """The fields a YAML entry of ``kind`` must spell out (besides name, kind and inputs)."""
    return tuple(name for name, info in SPEC_CLASSES[kind].model_fields.items()
                 if info.is_required() and name not in ("name", "kind", "inputs"))


class NetworkSpec(_Strict):
    name: Name
    input: InputSpec
    layers: list[LayerSpec] = Field(min_length=1, max_length=lim.MAX_LAYERS)

    def input_shape(self) -> L.Shape:
        return L.Shape(self.input.height, self.input.width, self.input.channels)

    def build_layers(self) -> list[L.Layer]:
        return [layer_from_spec(spec) for spec in self.layers]


def layer_from_spec(spec: _LayerSpec) -> L.Layer:
    """The workload layer that a validated YAML layer entry describes."""
    values = spec.model_dump()
    kind = values.pop("kind")
    values["inputs"] = tuple(values["inputs"])
    if "activation" in values:
        values["activation"] = L.Activation(values["activation"])
    return _LAYER_CLASSES[kind](**values)
