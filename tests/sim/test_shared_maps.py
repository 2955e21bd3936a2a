"""Planners share one footprint (and its maps) among the tiles of a layer with the same sizes.
Nothing downstream may change them: this plans whole networks on the two presets with the
smallest buffers, takes a deep copy of every footprint map and of each tile's SRAM-count dicts
(not shared today; checked so that sharing them later stays safe), runs both pipelines and the
capacity audit, and compares every map with its copy. It also checks that the sharing it
guards exists (fewer distinct footprint maps than tiles), so the test cannot pass on schedules
that share nothing."""

import copy

import pytest

from sim.capacity import audit
from sim.dataflow import SimulationOptions, plan_schedule
from sim.hardware import load_hardware
from sim.pipeline import run_pipeline
from sim.presets import hardware_path
from sim.workload.io import resolve_network

NETWORKS = (("lightweight_cnn", None), ("mobilenet_v2", 64), ("resnet18", 64))


def _maps(tiles):
    """Every dict a tile holds, with the path that names it."""
    for index, tile in enumerate(tiles):
        footprint = tile.footprint
        yield (index, "sram_read_bytes"), tile.sram_read_bytes
        yield (index, "sram_write_bytes"), tile.sram_write_bytes
        for field in ("loaded", "produced", "held", "shared"):
            yield (index, field), getattr(footprint, field)


@pytest.mark.parametrize("dataflow", ("layerwise", "tiled", "full", "auto"))
@pytest.mark.parametrize("preset", ("diannao", "eyeriss"))
@pytest.mark.parametrize("network,resolution", NETWORKS)
def test_running_a_schedule_changes_none_of_its_shared_maps(network, resolution, preset,
                                                           dataflow):
    net = resolve_network(network, resolution=resolution, num_classes=None, width_mult=None)
    hardware = load_hardware(hardware_path(preset))
    tiles = plan_schedule(net, hardware, SimulationOptions(dataflow)).tiles
    before = {path: copy.deepcopy(mapping) for path, mapping in _maps(tiles)}
    distinct = {id(tile.footprint.loaded) for tile in tiles}
    if len(tiles) > 2 * len(net.infos):
        assert len(distinct) < len(tiles), "no footprint map is shared"
    for compiled in (False, True):
        result = run_pipeline(tiles, hardware, compiled=compiled)
        spans = {name: (c.first_start, c.last_end) for name, c in result.layers.items()}
        audit(result.occupancy, hardware, spans)
    changed = [path for path, mapping in _maps(tiles) if mapping != before[path]]
    assert not changed, f"maps changed in place: {changed[:5]}"
