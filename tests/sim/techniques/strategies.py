"""Hypothesis strategies: small random CNNs with strides, padding, pooling and residual adds."""

from hypothesis import assume
from hypothesis import strategies as st

from sim.workload.layers import (
    Activation,
    AvgPool2d,
    Conv2d,
    DepthwiseConv2d,
    Layer,
    LayerError,
    MaxPool2d,
    PointwiseConv2d,
    Shape,
)
from sim.workload.network import Network, NetworkError
from sim.workload.zoo import inverted_residual


@st.composite
def spatial_networks(draw, max_layers: int = 6) -> Network:
    """A chain of spatial layers (no FC / global pooling), residual blocks included."""
    size = draw(st.integers(6, 20))
    channels = draw(st.integers(1, 4))
    layers: list[Layer] = []
    count = draw(st.integers(1, max_layers))
    for index in range(count):
        name = f"l{index}"
        source = layers[-1].name if layers else "input"
        kind = draw(st.sampled_from(["conv", "dw", "pw", "maxpool", "avgpool", "block"]))
        activation = draw(st.sampled_from(list(Activation)))
        if kind == "conv":
            kernel = draw(st.sampled_from([1, 2, 3, 5]))
            layers.append(Conv2d(
                name=name, out_channels=draw(st.integers(1, 5)), kernel=kernel,
                stride=draw(st.sampled_from([1, 2])), padding=draw(st.integers(0, kernel // 2)),
                dilation=draw(st.sampled_from([1, 1, 2])), activation=activation,
            ))
        elif kind == "dw":
            layers.append(DepthwiseConv2d(
                name=name, kernel=3, stride=draw(st.sampled_from([1, 2])),
                padding=draw(st.sampled_from([0, 1])), activation=activation,
            ))
        elif kind == "pw":
            layers.append(PointwiseConv2d(name=name, out_channels=draw(st.integers(1, 5)),
                                          activation=activation))
        elif kind == "maxpool":
            layers.append(MaxPool2d(name=name, kernel=3, stride=2, padding=1))
        elif kind == "avgpool":
            layers.append(AvgPool2d(name=name, kernel=draw(st.sampled_from([2, 3])), stride=2,
                                    padding=draw(st.sampled_from([0, 1]))))
        else:
            width = _channels(layers, channels)
            layers += inverted_residual(name, source, width, width, 1, draw(st.integers(1, 3)))
    try:
        network = Network("random", Shape(size, size, channels), layers)
    except (NetworkError, LayerError):
        assume(False)
    return network


def _channels(layers: list[Layer], input_channels: int) -> int:
    """Output channels of the chain so far (shapes are checked when the network is built)."""
    try:
        return Network("probe", Shape(64, 64, input_channels), layers).output_shape.channels
    except (NetworkError, LayerError):
        return input_channels
