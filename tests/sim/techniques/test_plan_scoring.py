"""The layer-wise planner's shortcuts against the slow way: a band candidate's profile counted
per row span and piece equals the one counted region by region, and a plan's cost counted
without tiles equals the bursts, requests and tiles of the tiles it would make."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.hardware import load_hardware
from sim.schedule import DramLayout, request_count, schedule_burst_bytes
from sim.techniques.layer_tiles import NOTHING_ON_CHIP, Residency, plan_layer_tiles
from sim.techniques.layerwise import (
    band_profile,
    band_regions,
    band_specs,
    plan_cost,
    window_profile,
)
from tests.sim.dataflows.strategies import single_layers

DIANNAO = load_hardware("configs/hardware/diannao.yaml")


def same_profile(fast, slow) -> bool:
    """Equal counts and sums, spans equal as multisets (their order does not matter)."""
    def spans(values):
        total: dict = {}
        for c0, c1, height, count in values:
            total[(c0, c1, height)] = total.get((c0, c1, height), 0) + count
        return total

    return ((fast.regions, fast.region_pixels, fast.largest_region, fast.window_pixels,
             fast.largest_window) == (slow.regions, slow.region_pixels, slow.largest_region,
                                      slow.window_pixels, slow.largest_window)
            and spans(fast.region_spans) == spans(slow.region_spans)
            and spans(fast.window_spans) == spans(slow.window_spans))


@given(network=single_layers())
@settings(max_examples=60, deadline=None)
def test_band_profiles_equal_region_by_region_profiles(network):
    info = network.infos[0]
    for spec in band_specs(info):
        assert same_profile(band_profile(info, spec),
                            window_profile(info, band_regions(info, spec))), spec


@given(network=single_layers(), blocks=st.integers(1, 8), resident_input=st.booleans(),
       dtype_bytes=st.sampled_from([1, 2]))
@settings(max_examples=60, deadline=None)
def test_plan_cost_counts_what_the_tiles_move(network, blocks, resident_input, dtype_bytes):
    info = network.infos[0]
    layout = DramLayout(network, dtype_bytes)
    residency = (Residency(frozenset({"input"}), {"input": 1}, {}, "global")
                 if resident_input else NOTHING_ON_CHIP)
    burst = DIANNAO.dram.burst_bytes
    for spec in band_specs(info)[:: max(1, len(band_specs(info)) // 4)]:
        regions = band_regions(info, spec)
        tiles = plan_layer_tiles(info, DIANNAO, layout, regions, blocks, residency=residency)
        assert plan_cost(info, layout, regions, blocks, residency, burst) == (
            schedule_burst_bytes(tiles, burst), request_count(tiles), len(tiles))


@pytest.mark.parametrize("spec", [("pieces", 2), ("pieces", 7), ("bands", 3)])
def test_band_regions_tile_the_output_exactly(spec):
    """Hand check: the candidates cover every output pixel once."""
    from sim.workload.zoo import lightweight_cnn
    info = lightweight_cnn(32, 10).infos[1]
    regions = band_regions(info, spec)
    covered = sorted((r, c) for region in regions for r in range(region.row0, region.row1)
                     for c in range(region.col0, region.col1))
    shape = info.output_shape
    assert covered == [(r, c) for r in range(shape.height) for c in range(shape.width)]


@pytest.mark.parametrize("preset", ["jetson_nano", "eyeriss", "diannao"])
def test_bus_bytes_counted_from_plans_are_the_tiles_bursts(preset):
    """What `buffered` compares its rooms by: the bus bytes of every layer's chosen plan,
    counted without tiles (and with per-tensor sums kept across rooms in the layout's memo),
    equal the whole bursts of the tiles the schedule makes, room by room."""
    from sim.dataflow import SimulationOptions, plan_schedule
    from sim.techniques.buffering import feature_map_request_bytes, plan_residency
    from sim.techniques.layerwise import layerwise_bus_bytes, layerwise_schedule
    from sim.workload.zoo import mobilenet_v2

    hardware = load_hardware(f"configs/hardware/{preset}.yaml")
    network = mobilenet_v2(48, 0.5, 10)
    layout = DramLayout(network, 1)
    burst = hardware.dram.burst_bytes
    for channels in (0, 1, 4, 64):
        residency = plan_residency(network, hardware,
                                   feature_map_request_bytes(network, channels, 1), 1, 4)
        counted = layerwise_bus_bytes(network, hardware, layout, residency, {})
        fresh = DramLayout(network, 1)  # nothing remembered from other rooms
        assert counted == schedule_burst_bytes(
            layerwise_schedule(network, hardware, fresh, residency), burst)
    if preset == "diannao":  # no fmap or global buffer: no room to choose
        return
    # The room buffered picks moves no more than no room at all.
    chosen = plan_schedule(network, hardware, SimulationOptions("buffered"))
    assert schedule_burst_bytes(chosen.tiles, burst) <= schedule_burst_bytes(
        plan_schedule(network, hardware, SimulationOptions("buffered", buffer_channels=0)
                      ).tiles, burst)


@given(network=single_layers(), resident_input=st.booleans(),
       dtype_bytes=st.sampled_from([1, 2]))
@settings(max_examples=40, deadline=None)
def test_one_block_cost_with_memo_is_plan_cost(network, resident_input, dtype_bytes):
    """The per-tensor sums kept under a candidate's key give what plan_cost counts afresh,
    whichever maps are on chip when the candidate is scored again."""
    from sim.techniques.layerwise import one_block_cost
    from sim.workload.layers import Mul

    info = network.infos[0]
    if isinstance(info.layer, Mul):
        return
    layout = DramLayout(network, dtype_bytes)
    burst = DIANNAO.dram.burst_bytes
    residencies = [NOTHING_ON_CHIP, Residency(frozenset({"input"}), {"input": 1}, {}, "global"),
                   Residency(frozenset({info.name}), {info.name: 1}, {}, "global")]
    if resident_input:
        residencies.reverse()
    for spec in band_specs(info):
        for residency in residencies:
            regions = band_regions(info, spec)
            assert one_block_cost(info, layout, lambda regions=regions: regions, residency,
                                  burst, (info.name, spec)) == plan_cost(
                info, layout, regions, 1, residency, burst), spec


@given(network=single_layers(), filter_blocks=st.integers(1, 6), k_blocks=st.integers(2, 9),
       resident_output=st.booleans(), dtype_bytes=st.sampled_from([1, 2]),
       spec_pick=st.integers(0, 50))
@settings(max_examples=60, deadline=None)
def test_k_blocked_cost_counts_what_its_tiles_move(network, filter_blocks, k_blocks,
                                                   resident_output, dtype_bytes, spec_pick):
    """Input-channel blocking counted per (region, slice), (block, slice) and (region, block)
    equals the bursts, requests and tiles of the tiles it emits, step by step."""
    from sim.techniques.channel_blocks import blockable, emit_k_blocked, k_blocked_cost

    info = network.infos[0]
    if not blockable(info):
        return
    layout = DramLayout(network, dtype_bytes)
    residency = (Residency(frozenset({info.name}), {info.name: 1}, {}, "global")
                 if resident_output else NOTHING_ON_CHIP)
    specs = band_specs(info)
    regions = band_regions(info, specs[spec_pick % len(specs)])
    burst = DIANNAO.dram.burst_bytes
    tiles = emit_k_blocked(info, DIANNAO, layout, regions, filter_blocks, k_blocks, residency,
                           resident_output)
    assert k_blocked_cost(info, layout, regions, filter_blocks, k_blocks, residency,
                          burst) == (schedule_burst_bytes(tiles, burst), request_count(tiles),
                                     len(tiles))


@given(network=single_layers(), blocks=st.integers(1, 8), resident_input=st.booleans(),
       halo_reuse=st.booleans(), tile=st.sampled_from([1, 2, 3, 5, 8]),
       dtype_bytes=st.sampled_from([1, 2]))
@settings(max_examples=80, deadline=None)
def test_layer_tiles_bus_bytes_are_the_tiles_bursts(network, blocks, resident_input,
                                                    halo_reuse, tile, dtype_bytes):
    """T x T tiles with or without halo reuse, counted from addresses without tiles, against
    the whole bursts of the tiles plan_layer_tiles makes."""
    from sim.techniques.layer_tiles import layer_tiles_bus_bytes
    from sim.techniques.tiling import square_tiles

    info = network.infos[0]
    layout = DramLayout(network, dtype_bytes)
    residency = (Residency(frozenset({"input"}), {"input": 1}, {}, "global")
                 if resident_input else NOTHING_ON_CHIP)
    burst = DIANNAO.dram.burst_bytes
    regions = square_tiles(info, tile)
    tiles = plan_layer_tiles(info, DIANNAO, layout, regions, blocks, halo_reuse, residency)
    assert layer_tiles_bus_bytes(info, layout, regions, blocks, halo_reuse, residency,
                                 burst) == schedule_burst_bytes(tiles, burst)


@pytest.mark.parametrize("preset", ["jetson_nano", "eyeriss", "diannao"])
def test_tiled_layer_bus_bytes_are_its_tiles_bursts(preset):
    """Every layer of two small networks, tiled with and without halo reuse beside maps kept
    on chip (and input-channel blocked where DianNao's buffers need it): the bus bytes
    counted without tiles equal the bursts of tiled_layer's tiles."""
    from sim.techniques.buffering import plan_residency
    from sim.techniques.tiling import tiled_layer, tiled_layer_bus_bytes
    from sim.workload.zoo import lightweight_cnn, mobilenet_v2

    hardware = load_hardware(f"configs/hardware/{preset}.yaml")
    burst = hardware.dram.burst_bytes
    for network in (lightweight_cnn(32, 10), mobilenet_v2(48, 0.5, 10)):
        residency = plan_residency(network, hardware, 16 * 1024, 1, 4)
        for halo_reuse in (False, True):
            counted, made = DramLayout(network, 1), DramLayout(network, 1)
            for info in network.infos:
                assert tiled_layer_bus_bytes(info, hardware, counted, 8, halo_reuse,
                                             residency) == schedule_burst_bytes(
                    tiled_layer(info, hardware, made, 8, halo_reuse, residency), burst)


@pytest.mark.parametrize("preset", ["jetson_nano", "eyeriss", "diannao"])
def test_reordered_bus_bytes_are_the_tiles_bursts(preset):
    """Every reorderable block of two MobileNetV2s, with nothing on chip and beside the maps
    `full` keeps resident in a few rooms: the bus bytes counted from the plan equal the
    whole bursts of reordered_tiles' tiles (the tiles are the second count)."""
    from sim.dtypes import DType
    from sim.techniques.reorder import find_bottlenecks
    from sim.techniques.reordered_schedule import (
        plan_reorder,
        reorder_residency,
        reordered_bus_bytes,
        reordered_tiles,
    )
    from sim.workload.zoo import mobilenet_v2

    hardware = load_hardware(f"configs/hardware/{preset}.yaml")
    burst = hardware.dram.burst_bytes
    checked = 0
    for network in (mobilenet_v2(48, 0.5, 10), mobilenet_v2(96, 1.0, 10)):
        layout = DramLayout(network, 1)
        residencies = [NOTHING_ON_CHIP] + [
            reorder_residency(network, hardware, DType.INT8, room, {})[1]
            for room in (8 * 1024, 64 * 1024)]
        for residency in residencies:
            for block in find_bottlenecks(network):
                plan = plan_reorder(block, hardware, DType.INT8, residency)
                if plan is None:
                    continue
                tiles = reordered_tiles(plan, hardware, layout, DType.INT8, residency)
                assert reordered_bus_bytes(plan, layout, residency, burst) == \
                    schedule_burst_bytes(tiles, burst), (block.name, residency.on_chip)
                checked += 1
    assert checked > 0
