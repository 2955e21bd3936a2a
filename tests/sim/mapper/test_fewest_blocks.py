"""The search space holds the fewest blocks that fit: for every grid it keeps, the fewest
filter blocks with which the weight order fits, and for every spilled filter-block count the
fewest input-channel blocks. The expected counts come from trying every count (brute force)
with the capacity check that emitted schedules are held to (:func:`sim.mapper.emit.overflow`),
not from the search's bisection."""

import pytest

from sim.hardware import load_hardware
from sim.mapper.emit import canonical, overflow
from sim.mapper.layer_mapping import LayerMapping
from sim.mapper.search import exhaustive, layer_space
from sim.schedule import DramLayout
from sim.techniques.channel_blocks import reduction
from sim.techniques.layer_tiles import Residency, layer_geometry
from sim.workload.layers import Conv2d, FullyConnected, PointwiseConv2d, Shape
from sim.workload.network import Network
from tests.sim.dataflows.strategies import nano, with_buffer

DIANNAO = load_hardware("configs/hardware/diannao.yaml")
NOTHING = Residency()
CASES = [
    ("conv 28x28x128 -> 128", Shape(28, 28, 128),
     Conv2d(name="l", out_channels=128, kernel=3, padding=1), DIANNAO),
    ("conv 14x14x96 -> 120", Shape(14, 14, 96),
     Conv2d(name="l", out_channels=120, kernel=3, padding=1), DIANNAO),
    ("conv 7x7x256 -> 256", Shape(7, 7, 256),
     Conv2d(name="l", out_channels=256, kernel=3, padding=1), DIANNAO),
    ("pointwise 14x14x160 -> 960", Shape(14, 14, 160),
     PointwiseConv2d(name="l", out_channels=960), DIANNAO),
    ("fc 1536 -> 40", Shape(1, 1, 1536), FullyConnected(name="l", out_features=40),
     with_buffer(nano(), 2048)),
]


def _fits(info, hardware, mapping) -> bool:
    return overflow(info, mapping, hardware, 1, 4, NOTHING) is None


@pytest.mark.parametrize("label, shape, layer, hardware", CASES, ids=[c[0] for c in CASES])
def test_the_space_holds_the_fewest_blocks_that_fit(label, shape, layer, hardware):
    network = Network("one", shape, [layer])
    info = network.infos[0]
    assert not exhaustive(info)  # the bisection is what is tested, not the full enumeration
    space = [mapping for _, mapping, _ in layer_space(info, hardware, DramLayout(network, 1),
                                                      NOTHING)]
    filters = layer_geometry(info, 1).filters
    items = reduction(info)[0]
    grids = sorted({(m.tile_rows, m.tile_cols, m.split) for m in space})
    checked_filters = checked_slices = 0
    for rows, cols, split in grids:
        here = [m for m in space if (m.tile_rows, m.tile_cols, m.split) == (rows, cols, split)]
        plain = [canonical(info, LayerMapping("l", rows, cols, split, blocks, "weight"))
                 for blocks in range(1, filters + 1)]
        fitting = [m for m in plain if _fits(info, hardware, m)]
        if fitting:
            fewest = min(fitting, key=lambda m: m.filter_blocks)
            assert fewest in here, (label, rows, cols, split, fewest.filter_blocks)
            checked_filters += 1
        for blocks in {m.filter_blocks for m in here if m.spills}:
            slices = [LayerMapping("l", rows, cols, split, blocks, "weight", k, False)
                      for k in range(2, items + 1)]
            fewest_k = min(m.input_channel_blocks for m in slices
                           if _fits(info, hardware, m))
            spilled = {m.input_channel_blocks for m in here
                       if m.spills and m.filter_blocks == blocks}
            assert fewest_k in spilled, (label, rows, cols, split, blocks, fewest_k, spilled)
            checked_slices += 1
    assert checked_filters + checked_slices > 0
