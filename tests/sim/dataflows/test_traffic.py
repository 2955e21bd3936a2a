"""DRAM traffic of the dataflows: compulsory bounds, monotonicity in buffer size, halo reuse."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.config import ConfigError
from sim.dataflow import SimulationOptions, build_schedule
from sim.dtypes import DType
from sim.schedule import DramLayout, schedule_burst_bytes, traffic_bytes
from sim.simulate import simulate
from sim.techniques.fusion import fusion_groups
from sim.techniques.layerwise import layerwise_schedule
from sim.techniques.tiling import tiled_schedule
from sim.workload.zoo import lightweight_cnn, mobilenet_v2
from tests.sim.dataflows.strategies import nano, single_layers, with_buffer, with_fmap

HUGE = 1 << 30


def touched(size: int, out: int, kernel: int, stride: int, pad: int, dilation: int,
            span: bool) -> int:
    """Input indices along one axis that some output reads (strides can skip some); with
    ``span``, everything from the first to the last of them (one contiguous fetch)."""
    indices = {o * stride - pad + dilation * j for o in range(out) for j in range(kernel)}
    indices &= set(range(size))
    return max(indices) - min(indices) + 1 if span else len(indices)


def compulsory_bytes(network, dtype_bytes: int, span: bool = False) -> int:
    """Every input element the layer reads, every weight and every output, once.

    With ``span``, the input counts as the rectangle from the first to the last element read
    (what one fetch of the whole receptive field moves)."""
    info = network.infos[0]
    shape = info.input_shapes[0]
    layer = info.layer
    if hasattr(layer, "geometry"):
        g = layer.geometry(shape.channels)
        rows = touched(shape.height, info.output_shape.height, g.kernel[0], g.stride[0],
                       g.padding[0], g.dilation[0], span)
        cols = touched(shape.width, info.output_shape.width, g.kernel[1], g.stride[1],
                       g.padding[2], g.dilation[1], span)
        inputs = rows * cols * shape.channels
    else:
        inputs = shape.elements
    return (inputs + info.output_shape.elements + info.params) * dtype_bytes


def layerwise_traffic(network, hardware) -> int:
    layout = DramLayout(network, 1)
    try:
        return sum(traffic_bytes(layerwise_schedule(network, hardware, layout)).values())
    except ConfigError:
        assume(False)  # the buffer cannot hold even one row and one filter
        raise


@given(network=single_layers(), size=st.integers(256, 1 << 20))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_traffic_is_at_least_compulsory(network, size):
    hardware = with_buffer(nano(), size)
    assert layerwise_traffic(network, hardware) >= compulsory_bytes(network, 1)


@given(network=single_layers())
@settings(max_examples=40, deadline=None)
def test_traffic_is_compulsory_when_the_buffer_holds_the_layer(network):
    # A strided layer whose kernel skips input rows (1x1, stride 2) reads fewer elements than
    # one fetch of its receptive field moves; row bands can then beat a single fetch, so the
    # equality is claimed only where every element in the receptive field is read.
    assume(compulsory_bytes(network, 1) == compulsory_bytes(network, 1, span=True))
    traffic = layerwise_traffic(network, with_buffer(nano(), HUGE))
    assert traffic == compulsory_bytes(network, 1)


def layerwise_bus_bytes(network, hardware) -> int:
    layout = DramLayout(network, 1)
    try:
        tiles = layerwise_schedule(network, hardware, layout)
    except ConfigError:
        assume(False)
        raise
    return schedule_burst_bytes(tiles, hardware.dram.burst_bytes)


@given(network=single_layers(), size=st.integers(512, 1 << 18))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_bus_traffic_never_grows_with_the_buffer(network, size):
    # The planner minimizes whole bursts on the bus; every plan that fits a buffer fits one
    # twice its size, so the minimum cannot grow (requested bytes may, when a larger buffer
    # lets a plan trade a little halo refetch for burst-aligned requests).
    small = layerwise_bus_bytes(network, with_buffer(nano(), size))
    larger = layerwise_bus_bytes(network, with_buffer(nano(), 2 * size))
    assert larger <= small


@pytest.mark.parametrize("tile", [4, 8, 16])
def test_halo_reuse_fetches_less_than_refetching(tile):
    network = lightweight_cnn()
    hardware = nano()
    layout = DramLayout(network, 1)
    reuse = traffic_bytes(tiled_schedule(network, hardware, layout, tile, halo_reuse=True))
    refetch = traffic_bytes(tiled_schedule(network, hardware, layout, tile, halo_reuse=False))
    assert reuse["ifmap"] < refetch["ifmap"]
    assert reuse["weight"] == refetch["weight"] and reuse["ofmap"] == refetch["ofmap"]


def test_buffering_keeps_fitting_feature_maps_off_dram():
    # A declared fmap buffer of 256 channels at 32x32 (256 KiB) holds every map of the
    # lightweight CNN (the largest pair live at once is 2 x 96 KiB): only the network input is
    # read and the logits written.
    network = lightweight_cnn()
    hardware = with_fmap(nano(), 256 * 32 * 32)
    baseline = traffic_bytes(build_schedule(network, hardware, SimulationOptions("layerwise")))
    buffered = traffic_bytes(build_schedule(network, hardware,
                                            SimulationOptions("buffered", buffer_channels=256)))
    weights = network.total_params
    assert buffered["weight"] == baseline["weight"] == weights
    assert buffered["ifmap"] == network.input_shape.elements
    assert buffered["ofmap"] == network.output_shape.elements
    assert baseline["ifmap"] > buffered["ifmap"]


def test_buffering_in_the_global_buffer_shares_it_with_the_tiles():
    # Without an fmap buffer the same request takes room in the 256 KiB L2 of the Jetson Nano
    # preset. The lightweight CNN's largest live set (b2: its 16 KiB input and two 96 KiB
    # expansion maps) leaves the tiles about 48 KiB, so every map still stays on chip; the
    # audited run proves the L2 is never exceeded.
    network = lightweight_cnn()
    hardware = nano()
    result = simulate(network, hardware, SimulationOptions("buffered", buffer_channels=256))
    totals = result["totals"]
    everything = network.input_shape.elements + network.output_shape.elements \
        + network.total_params
    assert totals["dram_read_bytes"] + totals["dram_write_bytes"] == everything
    assert totals["peak_onchip_bytes"] <= 262_144
    assert max(layer["peak_onchip_bytes"] for layer in result["layers"]) > 2 * 96 * 1024


def test_a_feature_map_request_larger_than_the_buffer_names_it():
    network = mobilenet_v2()
    with pytest.raises(ConfigError, match=r"3,211,264 B, but buffer 'global' of jetson_nano "
                                          r"has 262,144 B \(allowed: 1\.\.5\)"):
        build_schedule(network, nano(), SimulationOptions("full", buffer_channels=64))


def test_full_moves_less_than_layerwise_on_mobilenet():
    network = mobilenet_v2(resolution=96)
    hardware = nano()
    layerwise = traffic_bytes(build_schedule(network, hardware, SimulationOptions("layerwise")))
    full = traffic_bytes(build_schedule(network, hardware,
                                        SimulationOptions("full", tile=16)))
    assert sum(full.values()) < sum(layerwise.values())


def test_fp32_moves_four_times_the_int8_bytes_when_everything_fits():
    network = lightweight_cnn()
    hardware = with_buffer(nano(), HUGE)
    int8 = traffic_bytes(build_schedule(network, hardware, SimulationOptions("layerwise")))
    fp32 = traffic_bytes(build_schedule(network, hardware,
                                        SimulationOptions("layerwise", dtype=DType.FP32)))
    assert {op: 4 * size for op, size in int8.items()} == fp32


def test_fused_groups_recompute_halos_and_skip_intermediate_traffic():
    network = lightweight_cnn()
    hardware = nano()
    options = SimulationOptions("fused", tile=8)
    tiles = build_schedule(network, hardware, options)
    groups = [g for g in fusion_groups(network, hardware, 8, 1, 4) if len(g) > 1]
    assert groups, "some layers fuse on a 128 KB half buffer"
    stored = {t.tensor for tile in tiles for t in tile.stores}
    inside = {info.name for group in groups for info in group[:-1]}
    assert not stored & inside  # intermediates of a fused group never reach DRAM
    assert sum(tile.macs for tile in tiles) > network.total_macs  # halos are recomputed
    layerwise = build_schedule(network, hardware, SimulationOptions("layerwise"))
    assert sum(traffic_bytes(tiles).values()) < sum(traffic_bytes(layerwise).values())
