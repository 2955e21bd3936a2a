"""The closed-form traffic of a mapping equals what its emitted tiles ask of DRAM.

The reference is the second implementation: the tiles :func:`sim.mapper.emit.emit` builds,
counted request by request with :func:`sim.schedule.transfer_bursts`.
"""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mapper.emit import canonical, emit
from sim.mapper.traffic import layer_traffic
from sim.schedule import DramLayout, traffic_bytes, transfer_bursts
from sim.techniques.channel_blocks import reduction
from sim.techniques.layer_tiles import Residency
from tests.sim.dataflows.strategies import nano, single_layers
from tests.sim.mapper.strategies import mappings, strided_layers
from tests.sim.techniques.strategies import spatial_networks

NANO = nano()
NOTHING = Residency()


def _emitted(info, mapping, layout, residency, burst):
    tiles = emit(info, mapping, NANO, layout, residency)
    bus = Counter()
    requests = 0
    for tile in tiles:
        for transfer in (*tile.loads, *tile.stores):
            bus[transfer.operand] += transfer_bursts(transfer, burst) * burst
            requests += transfer.rows  # a descriptor of `rows` requests
    return traffic_bytes(tiles), dict(bus), requests


def _check(network, data, residency=NOTHING):
    info = data.draw(st.sampled_from(network.infos))
    mapping = canonical(info, data.draw(mappings(info)))
    burst = data.draw(st.sampled_from([16, 32, 64]))
    layout = DramLayout(network, data.draw(st.sampled_from([1, 2, 4])))
    requested, bus, requests = _emitted(info, mapping, layout, residency, burst)
    traffic = layer_traffic(info, mapping, layout, residency, burst)
    assert traffic.requested == requested
    assert {op: size for op, size in traffic.bus.items() if size} == bus
    assert traffic.requests == requests


@settings(max_examples=150, deadline=None)
@given(network=single_layers(), data=st.data())
def test_closed_form_equals_emitted_single_layers(network, data):
    _check(network, data)


@settings(max_examples=200, deadline=None)
@given(network=strided_layers(), data=st.data())
def test_closed_form_equals_emitted_strided_layers(network, data):
    """Layers whose kernel is smaller than their stride (1x1 stride-2 shortcuts, dilated,
    padded, depthwise, pooling), gathered windows on and off, every loop order."""
    _check(network, data)


@settings(max_examples=100, deadline=None)
@given(network=spatial_networks(), data=st.data())
def test_closed_form_equals_emitted_in_networks(network, data):
    """Depthwise, pooling and residual adds too, with some feature maps kept on chip."""
    names = [info.name for info in network.infos[:-1]]
    kept = frozenset(data.draw(st.lists(st.sampled_from(names), unique=True)) if names else [])
    _check(network, data, Residency(on_chip=kept, sizes=dict.fromkeys(kept, 1),
                                    buffer="global"))


@settings(max_examples=100, deadline=None)
@given(network=single_layers(), data=st.data())
def test_input_channel_blocking_cost_equals_its_tiles(network, data):
    """The layer-wise planner costs input-channel blocking from addresses
    (`k_blocked_cost`); the reference is the emitted tiles, request by request."""
    from sim.schedule import request_count, schedule_burst_bytes
    from sim.techniques.channel_blocks import blockable, emit_k_blocked, k_blocked_cost

    info = network.infos[0]
    if not blockable(info):
        return
    mapping = data.draw(mappings(info))
    regions = mapping.regions(info)
    blocks = mapping.filter_blocks
    k_blocks = data.draw(st.integers(2, max(2, reduction(info)[0])))
    burst = data.draw(st.sampled_from([16, 32, 64]))
    layout = DramLayout(network, 1)
    tiles = emit_k_blocked(info, NANO, layout, regions, blocks, k_blocks, NOTHING, False)
    assert k_blocked_cost(info, layout, regions, blocks, k_blocks, NOTHING, burst) == (
        schedule_burst_bytes(tiles, burst), request_count(tiles), len(tiles))


@settings(max_examples=100, deadline=None)
@given(network=single_layers(), data=st.data())
def test_estimated_compute_cycles_equal_the_tiles(network, data):
    """The search's compute-cycle count (per tile size class) against the emitted tiles'."""
    from sim.mapper.grid import make_grid
    from sim.mapper.search import estimate_cycles

    info = network.infos[0]
    mapping = canonical(info, data.draw(mappings(info)))
    tiles = emit(info, mapping, NANO, DramLayout(network, 1), NOTHING)
    grid = make_grid(info, mapping.tile_rows, mapping.tile_cols, mapping.split)
    expected = sum(tile.compute_cycles for tile in tiles if tile.macs)
    assert estimate_cycles(info, mapping, grid, NANO) == expected
