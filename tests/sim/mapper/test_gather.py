"""Gathered windows (``gather``): a tile of a layer whose kernel is smaller than its stride
fetches and holds only the input pixels its outputs read.

Expected values come from hand counts (arithmetic in the comments), from brute-force sets of
the positions ``o * stride + k * dilation - pad`` every output reads, from the compulsory
count of :func:`sim.bounds.elements_read`, and from the golden model run on the bytes the
emitted requests load (everything else in the window is garbage).
"""

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.bounds import elements_read, layer_compulsory_bytes
from sim.capacity import audit
from sim.golden.forward import forward, random_input, random_weights, run_layer
from sim.mapper.emit import canonical, demand, emit, overflow
from sim.mapper.grid import make_grid
from sim.mapper.layer_mapping import LayerMapping
from sim.mapper.search import search_layer
from sim.mapper.traffic import layer_traffic
from sim.pipeline import run_pipeline
from sim.schedule import DramLayout
from sim.techniques.layer_tiles import Residency
from sim.techniques.receptive import (
    Region,
    gathered_window,
    gathers,
    input_window,
    spatial_params,
)
from sim.techniques.weight_storage import DENSE
from sim.workload.layers import Conv2d, Shape
from sim.workload.network import Network
from tests.sim.dataflows.strategies import nano, with_buffer
from tests.sim.mapper.strategies import mappings, strided_layers

NOTHING = Residency()


def _shortcut(channels: int) -> Network:
    """A 1x1 stride-2 convolution, 8x8xC -> 4x4x8 (a ResNet downsample shortcut)."""
    return Network("shortcut", Shape(8, 8, channels),
                   [Conv2d(name="l", out_channels=8, kernel=1, stride=2)])


def test_one_tile_gathers_a_quarter_of_the_input_and_moves_16_c_bytes():
    """Hand count, int8, C = 64, bursts of 64 B, one 4x4 output tile. The outputs read input
    rows and columns 0, 2, 4, 6: the gathered window is 4 x 4 x 64 = 1,024 B (the dense one,
    rows and columns 0..6, is 7 x 7 x 64 = 3,136 B). Each read pixel is one 64 B request at
    (8 r + c) x 64, burst-aligned: 16 requests x 1 burst x 64 B = 1,024 B = 16 x C on the bus.
    Dense: 7 row requests of 448 B at 512 r, 7 bursts each: 49 x 64 = 3,136 B."""
    network = _shortcut(64)
    info = network.infos[0]
    layout = DramLayout(network, 1)
    gathered = canonical(info, LayerMapping("l", 4, 4, gather=True))
    dense = LayerMapping("l", 4, 4)
    grid = make_grid(info, 4, 4, "fixed")
    streamed, _ = demand(info, gathered, grid, nano().pe_array, 1, 4, NOTHING)
    assert streamed["ifmap"] == 4 * 4 * 64
    (tile,) = emit(info, gathered, nano(), layout, NOTHING)
    assert sum(t.size_bytes for t in tile.loads if t.operand == "ifmap") == 1024
    assert tile.footprint.loaded["global"] == 1024
    assert layer_traffic(info, gathered, layout, NOTHING, 64).bus["ifmap"] == 16 * 64
    assert layer_traffic(info, dense, layout, NOTHING, 64).bus["ifmap"] == 49 * 64


def test_small_pixels_make_gathering_move_more_bursts_than_the_dense_rows():
    """Hand count, int8, C = 4, bursts of 32 B (jetson_nano's), one 4x4 output tile. A map row
    is 8 x 4 = 32 B, one burst. Gathered: 16 requests of one 4 B pixel, each touching its own
    burst: 16 x 32 = 512 B on the bus for 64 B asked. Dense: 7 row requests of 7 x 4 = 28 B,
    each inside one burst: 7 x 32 = 224 B. So the search keeps the dense window."""
    network = _shortcut(4)
    info = network.infos[0]
    layout = DramLayout(network, 1)
    gathered = canonical(info, LayerMapping("l", 4, 4, gather=True))
    traffic = layer_traffic(info, gathered, layout, NOTHING, 32)
    assert (traffic.requested["ifmap"], traffic.bus["ifmap"]) == (64, 512)
    dense = layer_traffic(info, LayerMapping("l", 4, 4), layout, NOTHING, 32)
    assert (dense.requested["ifmap"], dense.bus["ifmap"]) == (196, 224)
    choice = search_layer(info, nano(), layout, NOTHING)
    assert not choice.mapping.gather


def test_the_search_gathers_where_pixels_fill_bursts():
    """The 1x1 stride-2 layer at C = 64 on jetson_nano (32 B bursts): one gathered tile moves
    1,024 B of input (16 aligned 64 B pixels), its weights once and its 128 B output in 4
    bursts. Dense windows move as little input only as 1x1 tiles (a 4-output row band reads 4
    rows of 7 pixels, 1,792 B), whose 16 output stores of 8 B take a 32 B burst each (512 B
    instead of 128 B). So the search gathers."""
    network = _shortcut(64)
    info = network.infos[0]
    choice = search_layer(info, nano(), DramLayout(network, 1), NOTHING)
    assert choice.mapping.gather
    assert choice.traffic.bus["ifmap"] == 1024


def _read_positions(out_range, size, kernel, stride, pad, dilation):
    """Brute force: every input position some output of ``out_range`` reads."""
    return {o * stride + k * dilation - pad for o in out_range for k in range(kernel)
            if 0 <= o * stride + k * dilation - pad < size}


@settings(max_examples=100, deadline=None)
@given(network=strided_layers(), data=st.data())
def test_gathered_requests_cover_exactly_the_bytes_read(network, data):
    """Every byte of every read pixel (the channel slice asked for) is requested once, and
    nothing else; requests go in increasing address order."""
    info = network.infos[0]
    mapping = data.draw(mappings(info))
    dtype = data.draw(st.sampled_from([1, 2]))
    layout = DramLayout(network, dtype)
    shape = info.input_shapes[0]
    first = data.draw(st.integers(0, shape.channels - 1))
    end = data.draw(st.integers(first + 1, shape.channels))
    kernel, stride, padding, dilation = spatial_params(info)
    base = layout.tensor_base("input")
    for region in mapping.regions(info):
        rows = _read_positions(range(region.row0, region.row1), shape.height, kernel[0],
                               stride[0], padding[0], dilation[0])
        cols = _read_positions(range(region.col0, region.col1), shape.width, kernel[1],
                               stride[1], padding[2], dilation[1])
        expected = {base + ((r * shape.width + c) * shape.channels + ch) * dtype + b
                    for r in rows for c in cols for ch in range(first, end)
                    for b in range(dtype)}
        got = []
        for transfer in layout.gathered_transfers("input", gathered_window(info, region),
                                                  first, end, "ifmap"):
            for address, size in transfer.requests():
                got += range(address, address + size)
        assert got == sorted(expected)


@settings(max_examples=100, deadline=None)
@given(network=strided_layers(), data=st.data())
def test_no_gathered_mapping_moves_less_than_the_compulsory_bytes(network, data):
    info = network.infos[0]
    mapping = canonical(info, data.draw(mappings(info)))
    assume(mapping.gather)
    dtype = data.draw(st.sampled_from([1, 2, 4]))
    burst = data.draw(st.sampled_from([4, 16, 64]))
    traffic = layer_traffic(info, mapping, DramLayout(network, dtype), NOTHING, burst)
    assert traffic.bus["ifmap"] >= traffic.requested["ifmap"] \
        >= sum(elements_read(info).values()) * dtype
    assert traffic.bus_bytes >= layer_compulsory_bytes(info, dtype, DENSE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=strided_layers(), data=st.data())
def test_gathered_tiles_compute_the_golden_result_from_the_bytes_they_load(network, data):
    """Input order, one filter block (one tile per output region): each tile's window is
    rebuilt from the bytes its requests load, every other pixel of the dense window filled
    with garbage; the golden layer run on it equals the whole-map golden output there."""
    info = network.infos[0]
    mapping = canonical(info, data.draw(mappings(info)))
    mapping = LayerMapping(info.name, mapping.tile_rows, mapping.tile_cols, mapping.split,
                           gather=True, halo_reuse=False)
    layout = DramLayout(network, 1)
    weights = random_weights(network, "int8", seed=data.draw(st.integers(0, 99)))
    x = random_input(network, "int8", seed=1)
    expected = forward(network, x, weights, "int8")[network.output_name]
    shape = info.input_shapes[0]
    base = layout.tensor_base("input")
    flat = x[0].reshape(-1)
    garbage = np.random.default_rng(7).integers(-128, 128, size=flat.shape, dtype=np.int8)
    regions = mapping.regions(info)
    tiles = emit(info, mapping, nano(), layout, NOTHING)
    assert len(tiles) == len(regions)
    for region, tile in zip(regions, tiles, strict=True):
        loaded = np.zeros(flat.shape, dtype=bool)
        for transfer in tile.loads:
            if transfer.operand == "ifmap":
                for address, size in transfer.requests():
                    loaded[address - base:address - base + size] = True
        image = np.where(loaded, flat, garbage).reshape(shape.height, shape.width,
                                                        shape.channels)[None]
        window = input_window(info, region)
        w = window.region
        got = run_layer(info, [image[:, w.row0:w.row1, w.col0:w.col1, :]],
                        weights.get(info.name), "int8", padding=window.padding)
        np.testing.assert_array_equal(
            got, expected[:, region.row0:region.row1, region.col0:region.col1, :])


def test_a_gathered_window_is_a_1x1_stride_1_run_on_the_subsampled_input():
    """The 1x1 stride-2 layer on 8x8x8: its output equals a 1x1 stride-1 convolution (same
    weights) of the input's even rows and columns, the pixels one gathered tile holds."""
    network = _shortcut(8)
    info = network.infos[0]
    window = gathered_window(info, Region(0, 4, 0, 4))
    assert window.rows == window.cols == ((0, 1), (2, 1), (4, 1), (6, 1))
    weights = random_weights(network, "int8", seed=3)
    x = random_input(network, "int8", seed=2)
    expected = forward(network, x, weights, "int8")[network.output_name]
    stride_one = Network("sub", Shape(4, 4, 8), [Conv2d(name="l", out_channels=8, kernel=1)])
    subsampled = x[:, 0:8:2, 0:8:2, :]
    got = run_layer(stride_one.infos[0], [subsampled], weights["l"], "int8")
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=strided_layers(), size=st.integers(256, 1 << 16), double=st.booleans(),
       data=st.data())
def test_gathered_runs_pass_the_capacity_audit(network, size, double, data):
    """Every gathered mapping that the budget says fits runs through the pipeline with no
    declared buffer ever over its size (:func:`sim.capacity.audit`), and each tile's footprint
    holds at least the bytes it loads."""
    hardware = with_buffer(nano(), size, double_buffered=double)
    info = network.infos[0]
    mapping = canonical(info, data.draw(mappings(info)))
    assume(mapping.gather)
    layout = DramLayout(network, 1)
    assume(overflow(info, mapping, hardware, 1, 4, NOTHING) is None)
    tiles = emit(info, mapping, hardware, layout, NOTHING)
    for tile in tiles:
        assert tile.footprint.alone("global") >= sum(t.size_bytes for t in tile.loads)
    result = run_pipeline(tiles, hardware)
    spans = {name: (c.first_start, c.last_end) for name, c in result.layers.items()}
    audit(result.occupancy, hardware, spans)


def test_gather_stays_off_where_the_kernel_is_not_smaller_than_the_stride():
    """A 3x3 stride-2 layer reads every row and column of its windows: canonical() turns
    gather off, so the search space does not grow."""
    network = Network("dense", Shape(8, 8, 4), [Conv2d(name="l", out_channels=4, kernel=3,
                                                        stride=2, padding=1)])
    info = network.infos[0]
    assert not gathers(info)
    assert not canonical(info, LayerMapping("l", 2, 2, gather=True)).gather
