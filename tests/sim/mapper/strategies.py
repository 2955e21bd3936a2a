"""Hypothesis strategies: random mappings of a layer, and layers whose kernel is smaller than
their stride (the layers gathered windows are for)."""

from hypothesis import assume
from hypothesis import strategies as st

from sim.mapper.layer_mapping import SPLITS, LayerMapping
from sim.techniques.channel_blocks import blockable, reduction
from sim.techniques.layer_tiles import is_channelwise, layer_geometry
from sim.techniques.receptive import gathers
from sim.workload.layers import Conv2d, DepthwiseConv2d, LayerError, MaxPool2d, Shape
from sim.workload.network import LayerInfo, Network, NetworkError


@st.composite
def mappings(draw, info: LayerInfo) -> LayerMapping:
    """Any valid mapping of ``info`` (it need not fit a buffer); gathered windows on layers
    whose kernel is smaller than their stride."""
    height, width = info.output_shape.height, info.output_shape.width
    most = (info.output_shape.channels if is_channelwise(info)
            else layer_geometry(info, 1).filters) or 1
    orders = ["input", "weight"] + (["output", "spilled"] if blockable(info) else [])
    stationary = draw(st.sampled_from(orders))
    k_blocks = 1
    if stationary in ("output", "spilled"):  # spilled: weight-stationary, channels blocked
        k_blocks = draw(st.integers(2, max(2, reduction(info)[0])))
        stationary = "output" if stationary == "output" else "weight"
    return LayerMapping(
        layer=info.name, tile_rows=draw(st.integers(1, height)),
        tile_cols=draw(st.integers(1, width)), split=draw(st.sampled_from(SPLITS)),
        filter_blocks=draw(st.integers(1, most)), stationary=stationary,
        input_channel_blocks=k_blocks, halo_reuse=draw(st.booleans()),
        gather=gathers(info) and draw(st.booleans()))


@st.composite
def strided_layers(draw) -> Network:
    """One layer whose kernel is smaller than its stride along at least one axis: a dense
    convolution (1x1 stride-2 shortcuts, and odd ones: 2x1 kernels, stride 3, dilation,
    padding), a depthwise convolution or a max pooling."""
    size = draw(st.integers(3, 20))
    cin = draw(st.integers(1, 40))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (kernel[0] + draw(st.integers(-1, 2)), kernel[1] + draw(st.integers(0, 2)))
    stride = (max(1, stride[0]), stride[1])
    dilation = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
    padding = tuple(draw(st.integers(0, k // 2)) for k in (kernel[0], kernel[0], kernel[1],
                                                            kernel[1]))
    kind = draw(st.sampled_from(["conv", "conv", "dw", "maxpool"]))
    if kind == "conv":
        layer = Conv2d(name="l", out_channels=draw(st.integers(1, 48)), kernel=kernel,
                       stride=stride, padding=padding, dilation=dilation)
    elif kind == "dw":
        layer = DepthwiseConv2d(name="l", kernel=kernel, stride=stride, padding=padding,
                                dilation=dilation)
    else:
        layer = MaxPool2d(name="l", kernel=kernel, stride=stride, padding=padding)
    try:
        network = Network("strided", Shape(size, size, cin), [layer])
    except (NetworkError, LayerError):
        assume(False)
        raise
    assume(gathers(network.infos[0]))
    return network
