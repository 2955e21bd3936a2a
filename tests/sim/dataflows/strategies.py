"""Hypothesis strategies: random small conv layers and hardware specs."""

from hypothesis import assume
from hypothesis import strategies as st

from sim.hardware import HardwareSpec, load_hardware
from sim.workload.layers import Conv2d, DepthwiseConv2d, FullyConnected, PointwiseConv2d, Shape
from sim.workload.network import Network, NetworkError

NANO = "configs/hardware/jetson_nano.yaml"


def with_buffer(hardware: HardwareSpec, size_bytes: int, double_buffered: bool = True
                ) -> HardwareSpec:
    """The same hardware with a global buffer of another size."""
    buffers = hardware.buffers.model_dump(by_alias=True)
    buffers["global"] = {**buffers["global"], "size_bytes": size_bytes,
                         "double_buffered": double_buffered}
    data = hardware.model_dump(by_alias=True)
    data["buffers"] = buffers
    return HardwareSpec.model_validate(data)


def with_fmap(hardware: HardwareSpec, size_bytes: int) -> HardwareSpec:
    """The same hardware with an ``fmap`` buffer of ``size_bytes`` added (a user's design)."""
    data = hardware.model_dump(by_alias=True)
    data["buffers"]["fmap"] = {**data["buffers"]["global"], "size_bytes": size_bytes,
                               "double_buffered": False}
    return HardwareSpec.model_validate(data)


def nano() -> HardwareSpec:
    return load_hardware(NANO)


@st.composite
def single_layers(draw) -> Network:
    size = draw(st.integers(4, 24))
    cin = draw(st.integers(1, 48))
    kind = draw(st.sampled_from(["conv", "dw", "pw", "fc"]))
    if kind == "conv":
        k = draw(st.sampled_from([1, 3, 5]))
        layer = Conv2d(name="l", out_channels=draw(st.integers(1, 64)), kernel=k,
                       stride=draw(st.sampled_from([1, 2])), padding=draw(st.integers(0, k // 2)))
    elif kind == "dw":
        layer = DepthwiseConv2d(name="l", kernel=3, stride=draw(st.sampled_from([1, 2])),
                                padding=1)
    elif kind == "pw":
        layer = PointwiseConv2d(name="l", out_channels=draw(st.integers(1, 64)))
    else:
        layer = FullyConnected(name="l", out_features=draw(st.integers(1, 64)))
    try:
        return Network("one", Shape(size, size, cin), [layer])
    except NetworkError:
        assume(False)
        raise
