"""sim.rtl_schedule's tiling, requests and prediction: properties that hold for every layer it
accepts (bands cover the output rows once, every band and block fits the engine's memories, the
loads cover exactly each band's in-bounds input rows, the prediction keeps what the buffers
serialize), and a schedule worked by hand."""

import dataclasses
from math import ceil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.hardware import load_hardware
from sim.rtl_schedule import (
    EngineLayer,
    EngineLimits,
    bands_and_blocks,
    engine_tiles,
    engine_tiling,
    fastest_tiling,
    output_store,
    predict_cycles,
)

HARDWARE = Path(__file__).resolve().parents[2] / "configs" / "hardware"
FPGA = EngineLimits(rows=4, cols=4, max_height=18, max_width=18, max_channels=8,
                    input_depth=256, output_depth=512, weight_depth=288)


@st.composite
def layers(draw):
    kernel = draw(st.sampled_from([1, 3]))
    stride = draw(st.sampled_from([1, 2]))
    padding = draw(st.integers(0, kernel - 1))
    width = draw(st.integers(kernel, 18 - 2 * padding))
    height = draw(st.integers(kernel, 60))
    return EngineLayer(height, width, draw(st.integers(1, 8)), draw(st.integers(1, 40)),
                       kernel, stride, padding)


@given(layers())
def test_tiles_cover_the_layer_and_fit(layer):
    tiling = engine_tiling(layer, FPGA)
    bands, blocks = bands_and_blocks(layer, tiling, 4, 8, 0, 1 << 20)
    out_height, out_width = layer.output_size
    assert [band.first_output_row for band in bands] == list(
        range(0, out_height, tiling.band_rows))
    assert sum(band.output_rows for band in bands) == out_height
    assert sum(block.filters for block in blocks) == layer.filters
    for band in bands:
        assert band.padded_rows <= FPGA.max_height
        low = max(0, band.first_row)
        high = min(layer.height, band.first_row + band.padded_rows)
        assert band.load.address == low * layer.width * 8
        assert band.load.size_bytes == (high - low) * layer.width * 8 <= 256 * 8
        for block in blocks:
            assert block.folds * (layer.reduction + FPGA.bias_words) <= FPGA.weight_depth
            assert band.output_rows * out_width * block.folds <= FPGA.output_depth
    assert all(block.first_filter % 4 == 0 for block in blocks)


def test_a_tiled_layer_by_hand():
    """24 x 16 x 8 -> 24 filters, 3x3 s1 p1 on fpga_4x4_os: a column fold is 4 bias words + K =
    72 weight words; a 288-word bank holds 3 folds (228 words, 12 filters), so blocks of
    12 + 12; the 512-word output memory holds 512 // (16 pixels x 3 folds) = 10 output rows;
    10 rows need 12 padded input rows (16 x 12 = 192 <= 256 pixels). Bands: rows 0-9 load input
    rows 0-10 (the top padded row is not loaded), 10-19 load 9-20, 20-23 load 19-23 (the bottom
    one is padding). With two blocks the outputs are stored per pixel: 160 requests of 3 folds
    x 4 B = 12 B per block of a 10-row band."""
    layer = EngineLayer(24, 16, 8, 24, 3, 1, 1)
    tiling = engine_tiling(layer, FPGA)
    assert (tiling.band_rows, tiling.block_filters) == (10, 12)
    bands, blocks = bands_and_blocks(layer, tiling, 4, 8, 0, 0x1000)
    row = 16 * 8
    assert [(band.load.address // row, band.load.size_bytes // row) for band in bands] == [
        (0, 11), (9, 12), (19, 5)]
    assert [(block.first_fold, block.folds) for block in blocks] == [(0, 3), (3, 3)]
    assert blocks[1].weights.address == 0x1000 + 3 * (4 + 72) * 4
    store = output_store(layer, bands[1], blocks[1], True, 4, 0x2000)
    pixel_bytes = ceil(24 / 4) * 4
    requests = store.requests()
    assert len(requests) == 160 and {size for _, size in requests} == {12}
    assert requests[0][0] == 0x2000 + 10 * 16 * pixel_bytes + 3 * 4
    assert requests[1][0] - requests[0][0] == pixel_bytes


@given(layers(), st.sampled_from(["os", "ws"]))
@settings(max_examples=25, deadline=None)
def test_prediction_keeps_what_the_buffers_serialize(layer, dataflow):
    """The predicted cycles cover every tile's compute and every tile's store one after the
    other (the ofmap tile memory is single-buffered: a tile computes only once the previous
    tile's outputs are stored) and the first tile's loads, a beat of ``cols`` bytes per
    cycle; counted here from the tiles alone, not from the pipeline."""
    if dataflow == "ws" and layer.channels % 4:
        layer = dataclasses.replace(layer, channels=4 if layer.channels < 4 else 8)
    limits = dataclasses.replace(FPGA, dataflow=dataflow, accumulator_depth=256)
    hardware = load_hardware(HARDWARE / ("fpga_4x4_ws.yaml" if dataflow == "ws"
                                         else "fpga_4x4_os.yaml"))
    tiling = engine_tiling(layer, limits)
    addresses = (0, 1 << 20, 1 << 21)
    try:
        tiles = engine_tiles(layer, limits, tiling, addresses)
    except ValueError:   # a tile whose line buffer would hold its folds up: not predicted
        return
    serial = (sum(tile.compute_cycles for tile in tiles)
              + sum(store.size_bytes // 4 for tile in tiles for store in tile.stores)
              + sum(load.size_bytes // 4 for load in tiles[0].loads))
    assert predict_cycles(hardware, layer, limits, tiling, addresses).cycles >= serial


DB = dataclasses.replace(FPGA, max_channels=64, input_depth=64, output_depth=256,
                         weight_depth=640, double_input=True, double_output=True)


@st.composite
def wide_layers(draw):
    kernel = draw(st.sampled_from([1, 3]))
    padding = draw(st.integers(0, kernel - 1))
    width = draw(st.integers(kernel, 16 - 2 * padding))
    height = draw(st.integers(kernel, 24))
    return EngineLayer(height, width, draw(st.sampled_from([4, 16, 64])),
                       draw(st.integers(1, 24)), kernel, draw(st.sampled_from([1, 2])),
                       padding)


@given(wide_layers())
@settings(max_examples=15, deadline=None)
def test_double_buffering_bounds_on_fpga_4x4_os_db(layer):
    """On fpga_4x4_os_db (the ifmap and ofmap double-buffered): the fastest tiling is never
    slower than the tallest band's; on the same tiling the prediction is never below the
    array's own work (every tile's compute back to back: double buffering overlaps memory
    with compute, never compute with compute) plus the first tile's loads and the last
    tile's store at a beat of 4 bytes per cycle (nothing overlaps those); counted here
    from the tiles alone."""
    hardware = load_hardware(HARDWARE / "fpga_4x4_os_db.yaml")
    addresses = (0, 1 << 20, 1 << 21)
    try:
        tallest = engine_tiling(layer, DB)
        engine_tiles(layer, DB, tallest, addresses)
    except ValueError:   # does not fit, or the line buffer would hold the folds up
        return
    fastest = fastest_tiling(hardware, layer, DB, addresses)
    cycles = predict_cycles(hardware, layer, DB, fastest, addresses).cycles
    assert cycles <= predict_cycles(hardware, layer, DB, tallest, addresses).cycles
    tiles = engine_tiles(layer, DB, fastest, addresses)
    floor = (sum(tile.compute_cycles for tile in tiles)
             + sum(load.size_bytes // 4 for load in tiles[0].loads)
             + sum(store.size_bytes // 4 for store in tiles[-1].stores))
    assert cycles >= floor
