"""Modern edge CNNs built by code, layer for layer as torchvision defines them: MobileNetV3
(small and large), EfficientNet-B0, SqueezeNet 1.1 and ShuffleNetV2 x1.0.

Parameter counts follow torchvision (batch norm: scale and shift per channel); they are derived
from the layers and compared with torchvision's model table in the tests. Dropout and stochastic
depth do nothing at inference and are left out.
"""

from __future__ import annotations

from sim.workload.layers import (
    Activation,
    Add,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    Layer,
    MaxPool2d,
    Mul,
    PointwiseConv2d,
    Shape,
)
from sim.workload.network import Network
from sim.workload.rounding import make_divisible

RELU = Activation.RELU
HARDSWISH = Activation.HARDSWISH
SILU = Activation.SILU
NONE = Activation.NONE


def conv_bn(name: str, source: str, out_channels: int, kernel: int, stride: int = 1,
            activation: Activation = NONE) -> Layer:
    """A convolution + batch norm (+ activation), "same" padding (k - 1) / 2, no bias."""
    if kernel == 1 and stride == 1:
        return PointwiseConv2d(name=name, inputs=(source,), out_channels=out_channels,
                               activation=activation)
    return Conv2d(name=name, inputs=(source,), out_channels=out_channels, kernel=kernel,
                  stride=stride, padding=(kernel - 1) // 2, activation=activation)


def depthwise_bn(name: str, source: str, kernel: int, stride: int,
                 activation: Activation = NONE) -> Layer:
    return DepthwiseConv2d(name=name, inputs=(source,), kernel=kernel, stride=stride,
                           padding=(kernel - 1) // 2, activation=activation)


def squeeze_excitation(prefix: str, source: str, channels: int, squeeze: int,
                       inner: Activation, gate: Activation) -> list[Layer]:
    """torchvision's SqueezeExcitation: global pool, 1x1 conv (bias) + ``inner``, 1x1 conv
    (bias) + ``gate``, then the input times the 1 x 1 x C gate."""
    return [
        GlobalAvgPool(name=f"{prefix}_se_pool", inputs=(source,)),
        PointwiseConv2d(name=f"{prefix}_se_fc1", out_channels=squeeze, bias=True,
                        batchnorm=False, activation=inner),
        PointwiseConv2d(name=f"{prefix}_se_fc2", out_channels=channels, bias=True,
                        batchnorm=False, activation=gate),
        Mul(name=f"{prefix}_se_scale", inputs=(source, f"{prefix}_se_fc2")),
    ]


# MobileNetV3 bottlenecks (torchvision's _mobilenet_v3_conf): input channels, kernel, expanded
# channels, output channels, squeeze-excitation, hardswish (else ReLU), stride.
MOBILENET_V3_LARGE = (
    (16, 3, 16, 16, False, False, 1),
    (16, 3, 64, 24, False, False, 2),
    (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2),
    (40, 5, 120, 40, True, False, 1),
    (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2),
    (80, 3, 200, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 480, 112, True, True, 1),
    (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2),
    (160, 5, 960, 160, True, True, 1),
    (160, 5, 960, 160, True, True, 1),
)
MOBILENET_V3_SMALL = (
    (16, 3, 16, 16, True, False, 2),
    (16, 3, 72, 24, False, False, 2),
    (24, 3, 88, 24, False, False, 1),
    (24, 5, 96, 40, True, True, 2),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1),
    (48, 5, 144, 48, True, True, 1),
    (48, 5, 288, 96, True, True, 2),
    (96, 5, 576, 96, True, True, 1),
    (96, 5, 576, 96, True, True, 1),
)
MOBILENET_V3_LAST_CHANNELS = {"large": 1280, "small": 1024}


def _mobilenet_v3(variant: str, resolution: int, num_classes: int) -> Network:
    settings = MOBILENET_V3_LARGE if variant == "large" else MOBILENET_V3_SMALL
    layers: list[Layer] = [Conv2d(name="stem", out_channels=settings[0][0], kernel=3, stride=2,
                                  padding=1, activation=HARDSWISH)]
    for block, (cin, kernel, expanded, cout, se, hs, stride) in enumerate(settings, start=1):
        prefix, source = f"b{block}", layers[-1].name
        act = HARDSWISH if hs else RELU
        if expanded != cin:
            layers.append(conv_bn(f"{prefix}_expand", layers[-1].name, expanded, 1,
                                  activation=act))
        layers.append(depthwise_bn(f"{prefix}_dw", layers[-1].name, kernel, stride, act))
        if se:
            layers += squeeze_excitation(prefix, layers[-1].name, expanded,
                                         make_divisible(expanded // 4, 8), RELU,
                                         Activation.HARDSIGMOID)
        layers.append(conv_bn(f"{prefix}_project", layers[-1].name, cout, 1))
        if stride == 1 and cin == cout:
            layers.append(Add(name=f"{prefix}_add", inputs=(f"{prefix}_project", source)))
    last_in = settings[-1][3]
    layers += [
        conv_bn("head", layers[-1].name, 6 * last_in, 1, activation=HARDSWISH),
        GlobalAvgPool(name="pool"),
        FullyConnected(name="fc1", out_features=MOBILENET_V3_LAST_CHANNELS[variant],
                       activation=HARDSWISH),
        FullyConnected(name="fc", out_features=num_classes),
    ]
    return Network(f"mobilenet_v3_{variant}", Shape(resolution, resolution, 3), layers)


def mobilenet_v3_large(resolution: int = 224, num_classes: int = 1000) -> Network:
    """MobileNetV3-Large (Howard et al. 2019) as in torchvision."""
    return _mobilenet_v3("large", resolution, num_classes)


def mobilenet_v3_small(resolution: int = 224, num_classes: int = 1000) -> Network:
    """MobileNetV3-Small (Howard et al. 2019) as in torchvision."""
    return _mobilenet_v3("small", resolution, num_classes)


# EfficientNet-B0 stages (torchvision's MBConvConfig at width and depth 1.0): expansion, kernel,
# first stride, input channels, output channels, repeats.
EFFICIENTNET_B0 = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


def efficientnet_b0(resolution: int = 224, num_classes: int = 1000) -> Network:
    """EfficientNet-B0 (Tan and Le 2019) as in torchvision: MBConv blocks with SiLU and
    squeeze-excitation (squeeze = block input channels / 4, sigmoid gate)."""
    layers: list[Layer] = [Conv2d(name="stem", out_channels=32, kernel=3, stride=2, padding=1,
                                  activation=SILU)]
    block = 0
    for expansion, kernel, first_stride, stage_in, cout, repeats in EFFICIENTNET_B0:
        for repeat in range(repeats):
            block += 1
            cin = stage_in if repeat == 0 else cout
            stride = first_stride if repeat == 0 else 1
            prefix, source = f"b{block}", layers[-1].name
            expanded = make_divisible(cin * expansion, 8)
            if expanded != cin:
                layers.append(conv_bn(f"{prefix}_expand", source, expanded, 1, activation=SILU))
            layers.append(depthwise_bn(f"{prefix}_dw", layers[-1].name, kernel, stride, SILU))
            layers += squeeze_excitation(prefix, layers[-1].name, expanded, max(1, cin // 4),
                                         SILU, Activation.SIGMOID)
            layers.append(conv_bn(f"{prefix}_project", layers[-1].name, cout, 1))
            if stride == 1 and cin == cout:
                layers.append(Add(name=f"{prefix}_add", inputs=(f"{prefix}_project", source)))
    layers += [
        conv_bn("head", layers[-1].name, 4 * EFFICIENTNET_B0[-1][4], 1, activation=SILU),
        GlobalAvgPool(name="pool"),
        FullyConnected(name="fc", out_features=num_classes),
    ]
    return Network("efficientnet_b0", Shape(resolution, resolution, 3), layers)


# SqueezeNet 1.1 fire modules after each stem/pool stage: (squeeze, expand 1x1, expand 3x3);
# a 3x3/2 ceil-mode max pool comes before the stages that follow the first.
SQUEEZENET_1_1_STAGES = (
    ((16, 64, 64), (16, 64, 64)),
    ((32, 128, 128), (32, 128, 128)),
    ((48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)),
)


def fire(prefix: str, source: str, squeeze: int, expand1: int, expand3: int) -> list[Layer]:
    """SqueezeNet's fire module: 1x1 squeeze + ReLU, then 1x1 and 3x3 expands (+ ReLU) side by
    side, concatenated along channels. Convolutions have biases and no batch norm."""
    return [
        PointwiseConv2d(name=f"{prefix}_squeeze", inputs=(source,), out_channels=squeeze,
                        bias=True, batchnorm=False, activation=RELU),
        PointwiseConv2d(name=f"{prefix}_expand1x1", out_channels=expand1, bias=True,
                        batchnorm=False, activation=RELU),
        Conv2d(name=f"{prefix}_expand3x3", inputs=(f"{prefix}_squeeze",),
               out_channels=expand3, kernel=3, padding=1, bias=True, batchnorm=False,
               activation=RELU),
        Concat(name=f"{prefix}_concat", inputs=(f"{prefix}_expand1x1", f"{prefix}_expand3x3")),
    ]


def squeezenet1_1(resolution: int = 224, num_classes: int = 1000) -> Network:
    """SqueezeNet 1.1 (Iandola et al. 2016; torchvision's squeezenet1_1): 3x3/2 stem, ceil-mode
    max pools, eight fire modules, a 1x1 classifier conv + ReLU and global pooling."""
    layers: list[Layer] = [Conv2d(name="conv1", out_channels=64, kernel=3, stride=2,
                                  bias=True, batchnorm=False, activation=RELU)]
    number = 1
    for stage in SQUEEZENET_1_1_STAGES:
        layers.append(MaxPool2d(name=f"pool{number}", kernel=3, stride=2, ceil_mode=True))
        for squeeze, expand1, expand3 in stage:
            number += 1
            layers += fire(f"fire{number}", layers[-1].name, squeeze, expand1, expand3)
    layers += [
        PointwiseConv2d(name="classifier", out_channels=num_classes, bias=True,
                        batchnorm=False, activation=RELU),
        GlobalAvgPool(name="pool"),
    ]
    return Network("squeezenet1_1", Shape(resolution, resolution, 3), layers)


SHUFFLENET_V2_REPEATS = (4, 8, 4)
SHUFFLENET_V2_X1_0_CHANNELS = (24, 116, 232, 464, 1024)


def shuffle_unit(prefix: str, source: str, out_channels: int, stride: int) -> list[Layer]:
    """ShuffleNetV2 unit. Stride 1: split the channels in halves, run the second half through
    1x1 + ReLU, 3x3 depthwise, 1x1 + ReLU, concatenate with the first half. Stride 2: both
    branches read the whole input (branch 1: 3x3/2 depthwise, 1x1 + ReLU). Then shuffle."""
    half = out_channels // 2
    layers: list[Layer] = []
    if stride == 1:
        layers += [ChannelSlice(name=f"{prefix}_x1", inputs=(source,), start=0, stop=half),
                   ChannelSlice(name=f"{prefix}_x2", inputs=(source,), start=half,
                                stop=2 * half)]
        left, branch_in = f"{prefix}_x1", f"{prefix}_x2"
    else:
        layers += [depthwise_bn(f"{prefix}_b1_dw", source, 3, stride),
                   conv_bn(f"{prefix}_b1_pw", f"{prefix}_b1_dw", half, 1, activation=RELU)]
        left, branch_in = f"{prefix}_b1_pw", source
    layers += [
        conv_bn(f"{prefix}_b2_pw1", branch_in, half, 1, activation=RELU),
        depthwise_bn(f"{prefix}_b2_dw", f"{prefix}_b2_pw1", 3, stride),
        conv_bn(f"{prefix}_b2_pw2", f"{prefix}_b2_dw", half, 1, activation=RELU),
        Concat(name=f"{prefix}_concat", inputs=(left, f"{prefix}_b2_pw2")),
        ChannelShuffle(name=f"{prefix}_shuffle", groups=2),
    ]
    return layers


def shufflenet_v2_x1_0(resolution: int = 224, num_classes: int = 1000) -> Network:
    """ShuffleNetV2 x1.0 (Ma et al. 2018) as in torchvision."""
    stem, *stages, last = SHUFFLENET_V2_X1_0_CHANNELS
    layers: list[Layer] = [
        Conv2d(name="conv1", out_channels=stem, kernel=3, stride=2, padding=1, activation=RELU),
        MaxPool2d(name="maxpool", kernel=3, stride=2, padding=1),
    ]
    for stage, (repeats, channels) in enumerate(zip(SHUFFLENET_V2_REPEATS, stages, strict=True),
                                                start=2):
        for index in range(repeats):
            layers += shuffle_unit(f"stage{stage}_{index}", layers[-1].name, channels,
                                   2 if index == 0 else 1)
    layers += [
        conv_bn("conv5", layers[-1].name, last, 1, activation=RELU),
        GlobalAvgPool(name="pool"),
        FullyConnected(name="fc", out_features=num_classes),
    ]
    return Network("shufflenet_v2_x1_0", Shape(resolution, resolution, 3), layers)
