"""Hypothesis strategies: random mappings of a layer."""

from hypothesis import strategies as st

from sim.mapper.layer_mapping import SPLITS, LayerMapping
from sim.techniques.channel_blocks import blockable, reduction
from sim.techniques.layer_tiles import is_channelwise, layer_geometry
from sim.workload.network import LayerInfo


@st.composite
def mappings(draw, info: LayerInfo) -> LayerMapping:
    """Any valid mapping of ``info`` (it need not fit a buffer)."""
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
        input_channel_blocks=k_blocks, halo_reuse=draw(st.booleans()))
