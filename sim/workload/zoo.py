"""Networks built by code: MobileNetV2, ResNet-18 (ImageNet and CIFAR), a lightweight CIFAR CNN,
and (from :mod:`sim.workload.zoo_mobile`) MobileNetV3, EfficientNet-B0, SqueezeNet 1.1 and
ShuffleNetV2.

Layer for layer these follow torchvision's definitions (MobileNetV2 and ResNet-18), so parameter
counts and MACs can be compared with its model table. Counts are derived from the layers, never
typed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.workload.layers import (
    Activation,
    Add,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    Layer,
    MaxPool2d,
    PointwiseConv2d,
    Shape,
)
from sim.workload.network import Network
from sim.workload.rounding import make_divisible
from sim.workload.zoo_mobile import (
    efficientnet_b0,
    mobilenet_v3_large,
    mobilenet_v3_small,
    shufflenet_v2_x1_0,
    squeezenet1_1,
)

RELU = Activation.RELU
RELU6 = Activation.RELU6


# MobileNetV2 inverted-residual settings: expansion t, output channels c, repeats n, stride s.
MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def inverted_residual(
    prefix: str, source: str, in_channels: int, out_channels: int, stride: int, expansion: int,
) -> list[Layer]:
    """MobileNetV2 block: [1x1 expand, ReLU6] -> 3x3 depthwise, ReLU6 -> 1x1 project [+ skip].

    ``source`` is the name of the tensor the block reads; the block's output tensor is its
    last layer's name.
    """
    layers: list[Layer] = []
    hidden = in_channels * expansion
    if expansion != 1:
        layers.append(PointwiseConv2d(
            name=f"{prefix}_expand", inputs=(source,), out_channels=hidden, activation=RELU6,
        ))
    layers.append(DepthwiseConv2d(
        name=f"{prefix}_dw", inputs=() if layers else (source,), kernel=3, stride=stride,
        padding=1, activation=RELU6,
    ))
    layers.append(PointwiseConv2d(name=f"{prefix}_project", out_channels=out_channels))
    if stride == 1 and in_channels == out_channels:
        layers.append(Add(name=f"{prefix}_add", inputs=(f"{prefix}_project", source)))
    return layers


def mobilenet_v2(
    resolution: int = 224, width_mult: float = 1.0, num_classes: int = 1000,
) -> Network:
    """MobileNetV2 (Sandler et al. 2018) as in torchvision; blocks are numbered b1..b17."""
    in_channels = make_divisible(32 * width_mult)
    last_channels = make_divisible(1280 * max(1.0, width_mult))
    layers: list[Layer] = [Conv2d(
        name="stem", out_channels=in_channels, kernel=3, stride=2, padding=1, activation=RELU6,
    )]
    block = 0
    for expansion, channels, repeats, first_stride in MOBILENET_V2_SETTINGS:
        out_channels = make_divisible(channels * width_mult)
        for repeat in range(repeats):
            block += 1
            layers += inverted_residual(
                f"b{block}", layers[-1].name, in_channels, out_channels,
                first_stride if repeat == 0 else 1, expansion,
            )
            in_channels = out_channels
    layers += [
        PointwiseConv2d(name="head", out_channels=last_channels, activation=RELU6),
        GlobalAvgPool(name="pool"),
        FullyConnected(name="fc", out_features=num_classes),
    ]
    return Network(_name("mobilenet_v2", width_mult), Shape(resolution, resolution, 3), layers)


def _name(base: str, width_mult: float) -> str:
    return base if width_mult == 1.0 else f"{base}_w{width_mult:g}"


def basic_block(prefix: str, source: str, in_channels: int, out_channels: int, stride: int
                ) -> list[Layer]:
    """ResNet basic block: 3x3 conv, ReLU -> 3x3 conv -> + skip (1x1 projection if needed), ReLU."""
    layers: list[Layer] = [
        Conv2d(name=f"{prefix}_conv1", inputs=(source,), out_channels=out_channels, kernel=3,
               stride=stride, padding=1, activation=RELU),
        Conv2d(name=f"{prefix}_conv2", out_channels=out_channels, kernel=3, padding=1),
    ]
    skip = source
    if stride != 1 or in_channels != out_channels:
        skip = f"{prefix}_downsample"
        layers.append(PointwiseConv2d(
            name=skip, inputs=(source,), out_channels=out_channels, stride=stride,
        ))
    layers.append(Add(name=f"{prefix}_add", inputs=(f"{prefix}_conv2", skip), activation=RELU))
    return layers


def _resnet18_body(stem: list[Layer], num_classes: int) -> list[Layer]:
    layers = list(stem)
    in_channels = 64
    for stage, channels in enumerate((64, 128, 256, 512), start=1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            layers += basic_block(
                f"layer{stage}_{index}", layers[-1].name, in_channels, channels, stride,
            )
            in_channels = channels
    layers += [GlobalAvgPool(name="pool"), FullyConnected(name="fc", out_features=num_classes)]
    return layers


def resnet18(resolution: int = 224, num_classes: int = 1000) -> Network:
    """ResNet-18 (He et al. 2016) for ImageNet: 7x7/2 stem and 3x3/2 max-pool, as in torchvision."""
    stem: list[Layer] = [
        Conv2d(name="conv1", out_channels=64, kernel=7, stride=2, padding=3, activation=RELU),
        MaxPool2d(name="maxpool", kernel=3, stride=2, padding=1),
    ]
    return Network("resnet18", Shape(resolution, resolution, 3), _resnet18_body(stem, num_classes))


def resnet18_cifar(resolution: int = 32, num_classes: int = 10) -> Network:
    """ResNet-18 for CIFAR: 3x3/1 stem and no max-pool (the common CIFAR variant)."""
    stem: list[Layer] = [
        Conv2d(name="conv1", out_channels=64, kernel=3, stride=1, padding=1, activation=RELU),
    ]
    return Network(
        "resnet18_cifar", Shape(resolution, resolution, 3), _resnet18_body(stem, num_classes)
    )


# (expansion, output channels, repeats, first stride) of the lightweight CNN's inverted residuals.
# The 24-channel stage keeps 32x32 for one block and halves the resolution in the next.
LIGHTWEIGHT_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 1, 1),
    (6, 24, 1, 2),
    (4, 32, 3, 2),
    (4, 64, 3, 2),
    (4, 128, 1, 1),
)
LIGHTWEIGHT_STEM_CHANNELS = 24
LIGHTWEIGHT_HEAD_CHANNELS = 320


def lightweight_cnn(resolution: int = 32, num_classes: int = 100) -> Network:
    """A MobileNetV2-style CIFAR network sized like seed 000's "Lightweight CNN".

    Seed 000 gives 0.26 M parameters and 15.8 M MACs.

    The paper gives only its counts, not its layers; this architecture is ours (see the README
    for how close its counts come): 3x3 stem, inverted residuals ``LIGHTWEIGHT_SETTINGS``
    (32x32 -> 16x16 -> 8x8 -> 4x4), a 1x1 head, global pooling and a classifier.
    """
    in_channels = LIGHTWEIGHT_STEM_CHANNELS
    layers: list[Layer] = [
        Conv2d(name="stem", out_channels=in_channels, kernel=3, padding=1, activation=RELU6),
    ]
    block = 0
    for expansion, channels, repeats, first_stride in LIGHTWEIGHT_SETTINGS:
        for repeat in range(repeats):
            block += 1
            layers += inverted_residual(
                f"b{block}", layers[-1].name, in_channels, channels,
                first_stride if repeat == 0 else 1, expansion,
            )
            in_channels = channels
    layers += [
        PointwiseConv2d(name="head", out_channels=LIGHTWEIGHT_HEAD_CHANNELS, activation=RELU6),
        GlobalAvgPool(name="pool"),
        FullyConnected(name="fc", out_features=num_classes),
    ]
    return Network("lightweight_cnn", Shape(resolution, resolution, 3), layers)


@dataclass(frozen=True)
class ZooEntry:
    """A builder and the options (CLI flags) it accepts."""

    build: Callable[..., Network]
    options: tuple[str, ...]
    default_resolution: int


ZOO: dict[str, ZooEntry] = {
    "mobilenet_v2": ZooEntry(mobilenet_v2, ("resolution", "width_mult", "num_classes"), 224),
    "resnet18": ZooEntry(resnet18, ("resolution", "num_classes"), 224),
    "resnet18_cifar": ZooEntry(resnet18_cifar, ("resolution", "num_classes"), 32),
    "lightweight_cnn": ZooEntry(lightweight_cnn, ("resolution", "num_classes"), 32),
    "mobilenet_v3_small": ZooEntry(mobilenet_v3_small, ("resolution", "num_classes"), 224),
    "mobilenet_v3_large": ZooEntry(mobilenet_v3_large, ("resolution", "num_classes"), 224),
    "efficientnet_b0": ZooEntry(efficientnet_b0, ("resolution", "num_classes"), 224),
    "squeezenet1_1": ZooEntry(squeezenet1_1, ("resolution", "num_classes"), 224),
    "shufflenet_v2_x1_0": ZooEntry(shufflenet_v2_x1_0, ("resolution", "num_classes"), 224),
}
