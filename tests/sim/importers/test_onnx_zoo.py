"""Whole zoo networks written as the torch exporters write them (``zoo_to_onnx``), weights in a
missing external file, imported back: every layer must come back with the zoo's output shape,
parameters and MACs (the zoo's own counts are checked against torchvision's table in
tests/sim/workload/test_zoo_mobile.py)."""

from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.importers.onnx_model import import_onnx
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
    LocalResponseNorm,
    MaxPool2d,
    Mul,
    PointwiseConv2d,
    Shape,
)
from sim.workload.network import INPUT, Network, NetworkError
from sim.workload.zoo import ZOO
from tests.sim.importers.zoo_to_onnx import STYLES, write_onnx

NETWORKS = ("mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "squeezenet1_1",
            "shufflenet_v2_x1_0", "mobilenet_v2", "resnet18")


def _onnx_kind(info) -> str:
    """The kind an ONNX Conv comes back as: pointwise is a 1x1 conv2d there, and a depthwise
    convolution of a single channel is an ordinary one (group 1)."""
    if info.kind == "pointwise" or (info.kind == "depthwise" and
                                    info.input_shapes[0].channels == 1):
        return "conv2d"
    return info.kind


def signature(network) -> Counter:
    """Each layer as (kind, output shape, params, MACs)."""
    return Counter((_onnx_kind(info), info.output_shape.as_tuple(), info.params, info.macs)
                   for info in network.infos)


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("name", NETWORKS)
def test_zoo_network_round_trips_through_onnx(tmp_path, name, style):
    zoo = ZOO[name].build()
    imported = import_onnx(write_onnx(zoo, style, tmp_path))
    network = imported.network
    assert network.total_params == zoo.total_params
    assert network.total_macs == zoo.total_macs
    assert network.output_shape == zoo.output_shape
    assert signature(network) == signature(zoo)
    assert len(imported.notes) == 1 and "weights.missing" in imported.notes[0]


# --- random networks of every kind the importer maps --------------------------------------------

ACTIVATIONS = tuple(Activation)


@st.composite
def random_networks(draw: st.DrawFn) -> Network:
    """A chain of random blocks: convolutions (groups, strides, uneven padding, dilation, any
    activation, batch norm, bias), depthwise, max / average pooling (ceil mode), squeeze-
    excitation, a fork joined by concat, a ShuffleNet-style slice-concat-shuffle, a residual
    add, LRN; then global pooling and a classifier."""
    size = draw(st.integers(8, 16))
    channels = draw(st.integers(1, 8))
    layers: list = []
    current, c = INPUT, channels

    def add(layer) -> str:
        layers.append(layer)
        return layer.name

    for index in range(draw(st.integers(1, 5))):
        name = f"b{index}"
        block = draw(st.sampled_from(("conv", "depthwise", "pool", "se", "fork", "shuffle",
                                      "residual", "lrn")))
        if block == "conv":
            out = draw(st.integers(1, 12))
            common = [g for g in range(1, min(c, out) + 1) if c % g == 0 and out % g == 0
                      and (g < c or g == 1)]
            kernel = draw(st.integers(1, 3))
            padding = tuple(draw(st.integers(0, kernel - 1)) for _ in range(4))
            current = add(Conv2d(name=name, inputs=(current,), out_channels=out, kernel=kernel,
                                 stride=draw(st.integers(1, 2)), padding=padding,
                                 dilation=draw(st.integers(1, 2)) if kernel > 1 else 1,
                                 groups=draw(st.sampled_from(common)),
                                 bias=draw(st.booleans()), batchnorm=draw(st.booleans()),
                                 activation=draw(st.sampled_from(ACTIVATIONS))))
            c = out
        elif block == "depthwise":
            multiplier = draw(st.integers(1, 2))
            current = add(DepthwiseConv2d(name=name, inputs=(current,), kernel=3, padding=1,
                                          stride=draw(st.integers(1, 2)), multiplier=multiplier,
                                          activation=draw(st.sampled_from(ACTIVATIONS))))
            c *= multiplier
        elif block == "pool":
            kind = draw(st.sampled_from((MaxPool2d, AvgPool2d)))
            kernel = draw(st.integers(2, 3))
            current = add(kind(name=name, inputs=(current,), kernel=kernel,
                               stride=draw(st.integers(1, 2)),
                               padding=draw(st.integers(0, kernel // 2)),
                               ceil_mode=draw(st.booleans())))
        elif block == "se":
            squeeze = draw(st.integers(1, 4))
            add(GlobalAvgPool(name=f"{name}_pool", inputs=(current,)))
            add(PointwiseConv2d(name=f"{name}_fc1", out_channels=squeeze, bias=True,
                                batchnorm=False, activation=Activation.RELU))
            gate = add(PointwiseConv2d(name=f"{name}_fc2", out_channels=c, bias=True,
                                       batchnorm=False, activation=draw(st.sampled_from(
                                           (Activation.SIGMOID, Activation.HARDSIGMOID)))))
            current = add(Mul(name=name, inputs=(current, gate)))
        elif block == "fork":
            left = add(PointwiseConv2d(name=f"{name}_l", inputs=(current,), out_channels=2))
            right = add(Conv2d(name=f"{name}_r", inputs=(current,), out_channels=3, kernel=3,
                               padding=1, activation=Activation.RELU))
            current = add(Concat(name=name, inputs=(left, right)))
            c = 5
        elif block == "shuffle" and c % 2 == 0:
            half = c // 2
            first = add(ChannelSlice(name=f"{name}_a", inputs=(current,), start=0, stop=half))
            second = add(ChannelSlice(name=f"{name}_b", inputs=(current,), start=half, stop=c))
            branch = add(PointwiseConv2d(name=f"{name}_pw", inputs=(second,), out_channels=half,
                                         activation=Activation.RELU))
            joined = add(Concat(name=f"{name}_cat", inputs=(first, branch)))
            current = add(ChannelShuffle(name=name, inputs=(joined,), groups=2))
        elif block == "residual":
            branch = add(PointwiseConv2d(name=f"{name}_pw", inputs=(current,), out_channels=c))
            current = add(Add(name=name, inputs=(current, branch),
                              activation=draw(st.sampled_from(ACTIVATIONS))))
        elif block == "lrn":
            current = add(LocalResponseNorm(name=name, inputs=(current,),
                                            size=draw(st.integers(1, 5))))
    add(GlobalAvgPool(name="pool", inputs=(current,)))
    add(FullyConnected(name="fc", out_features=draw(st.integers(1, 10)),
                       activation=draw(st.sampled_from(ACTIVATIONS))))
    try:
        return Network("random", Shape(size, size, channels), layers)
    except NetworkError:
        assume(False)
        raise


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=random_networks(), style=st.sampled_from(sorted(STYLES)))
def test_random_networks_round_trip_through_onnx(tmp_path_factory, network, style):
    """Whatever a network of these kinds is, its ONNX form imports back layer for layer."""
    path = write_onnx(network, style, tmp_path_factory.mktemp("onnx"))
    imported = import_onnx(path).network
    assert signature(imported) == signature(network)
    assert imported.total_params == network.total_params
    assert imported.total_macs == network.total_macs
