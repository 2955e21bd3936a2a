"""DramConvEngine in Amaranth's simulator against a memory with the DRAM model's timing
(``tests/rtl/timed_memory.py``), output-stationary and weight-stationary: outputs bit-exact
with ``sim.golden`` under random stalls on every memory stream, and at full rate the total
cycles the simulator's ``sim.rtl_schedule`` predicts with its tile pipeline."""

import dataclasses
import random
import tempfile

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.conv_stream import golden_output, random_job
from accel.dram_engine import DramConvEngine
from accel.dram_image import input_bytes, output_size_bytes, unpack_output, weight_bytes
from hls_gen.generate import generate
from sim.hardware import PeArraySpec, load_hardware
from sim.rtl_schedule import (
    EngineLayer,
    EngineLimits,
    Tiling,
    engine_tiling,
    fastest_tiling,
    predict_cycles,
    ws_compute_cycles,
)
from tests.rtl.timed_memory import TimedMemory

INPUT, WEIGHTS, OUTPUT = 0x0000, 0x1000, 0x2000   # page-aligned regions (4 KiB apart)


SMALL = {"rows": 2, "cols": 2, "max_width": 9, "max_height": 9, "max_channels": 4,
         "max_kernel": 3, "max_stride": 2, "weight_depth": 128, "input_depth": 49,
         "output_depth": 128}
LIMITS = EngineLimits(rows=2, cols=2, max_height=9, max_width=9, max_channels=4,
                      input_depth=49, output_depth=128, weight_depth=128)


WS_SMALL = {**SMALL, "dataflow": "ws", "accumulator_depth": 64}
WS_LIMITS = dataclasses.replace(LIMITS, dataflow="ws", accumulator_depth=64)


def small_engine() -> DramConvEngine:
    return DramConvEngine(**SMALL)


def small_hardware():
    """The FPGA preset's clock and DRAM with the small engine's 2 x 2 array."""
    hardware = load_hardware("configs/hardware/fpga_4x4_os.yaml")
    return hardware.model_copy(update={"pe_array": PeArraySpec(kind="systolic", rows=2, cols=2,
                                                                dataflow="os")})


def run(engine: DramConvEngine, hardware, job, rate: float, seed: int, tiling
        ) -> tuple[np.ndarray, int]:
    memory = TimedMemory(hardware, 1 << 14, engine.cols)
    image = input_bytes(job, engine.max_channels)
    memory.image[INPUT:INPUT + len(image)] = image
    weights = weight_bytes(job, engine.cols)
    memory.image[WEIGHTS:WEIGHTS + len(weights)] = weights
    chance = random.Random(seed)
    figures = {}

    async def serve(ctx):
        cycle = 0
        while True:
            beat = memory.read_beat(cycle)
            offer = beat is not None and chance.random() < rate
            ack = memory.ack(cycle) and chance.random() < rate
            ctx.set(engine.read_request.ready, chance.random() < rate)
            ctx.set(engine.write_request.ready, chance.random() < rate)
            ctx.set(engine.write_data.ready, chance.random() < rate)
            ctx.set(engine.read_data.valid, offer)
            if offer:
                ctx.set(engine.read_data.payload, beat)
            ctx.set(engine.write_ack.valid, ack)
            sampled = await ctx.tick().sample(
                engine.read_request.valid, engine.read_request.ready,
                engine.read_request.payload, engine.read_data.ready,
                engine.write_request.valid, engine.write_request.ready,
                engine.write_request.payload, engine.write_data.valid,
                engine.write_data.ready, engine.write_data.payload, engine.write_ack.ready)
            (q_valid, q_ready, q_payload, d_ready, w_valid, w_ready, w_payload, b_valid,
             b_ready, b_payload, a_ready) = sampled[2:]
            if q_valid and q_ready:
                memory.read_request(cycle, q_payload.address, q_payload.beats)
            if offer and d_ready:
                memory.take_read_beat()
            if w_valid and w_ready:
                memory.write_request(w_payload.address, w_payload.beats)
                memory.after_write_request(cycle)
            if b_valid and b_ready:
                memory.write_beat(cycle, b_payload)
            if ack and a_ready:
                memory.take_ack()
            cycle += 1

    async def control(ctx):
        height, width, _ = job.x.shape
        for port, value in (("height", height), ("width", width), ("channels", job.channels),
                            ("filters", job.filters), ("kernel", job.kernel),
                            ("stride", job.stride), ("padding", job.padding),
                            ("multiplier", job.multiplier), ("shift", job.shift),
                            ("zero_point", job.zero_point), ("qmin", job.qmin),
                            ("qmax", job.qmax), ("band_rows", tiling.band_rows),
                            ("block_filters", tiling.block_filters),
                            ("input_address", INPUT),
                            ("weight_address", WEIGHTS), ("output_address", OUTPUT)):
            ctx.set(getattr(engine, port), value)
        ctx.set(engine.start, 1)
        await ctx.tick()
        ctx.set(engine.start, 0)
        for _ in range(100_000):
            if not ctx.get(engine.busy):
                break
            await ctx.tick()
        else:
            raise AssertionError("the engine did not finish the layer")
        figures["cycles"] = ctx.get(engine.cycles)

    simulator = Simulator(engine)
    simulator.add_clock(1e-8)
    simulator.add_testbench(serve, background=True)
    simulator.add_testbench(control)
    simulator.run()
    size = output_size_bytes(job, engine.cols)
    return unpack_output(bytes(memory.image[OUTPUT:OUTPUT + size]), job, engine.cols), \
        figures["cycles"]


SHAPES = [   # height, width, channels, filters, kernel, stride, padding
    (5, 5, 3, 3, 3, 1, 1),     # 3x3 s1 same padding, two column folds, channels padded to 4
    (7, 6, 4, 5, 3, 2, 1),     # 3x3 s2 with padding
    (4, 5, 4, 4, 1, 1, 0),     # 1x1
    (13, 7, 4, 18, 3, 1, 1),   # 3 bands (5 + 5 + 3 rows) x 3 filter blocks of 6 filters
]


def test_tiling_of_the_large_layer_by_hand():
    """13 x 7 x 4 -> 18 filters, 3x3 s1 p1 on the small engine: K = 36, a bank of 128 words
    holds 3 column folds (108 words) of 2 filters: blocks of 6 filters. A band of 6 output
    rows needs 8 padded rows, 8 x 7 = 56 input pixels > 49; 5 rows need at most 7 x 7 = 49,
    and 5 x 7 pixels x 3 folds = 105 output words <= 128."""
    tiling = engine_tiling(EngineLayer(13, 7, 4, 18, 3, 1, 1), LIMITS)
    assert tiling.block_filters == 3 * 2 and tiling.band_rows == 5


@pytest.mark.parametrize("shape", SHAPES)
def test_full_rate_cycles_are_the_predicted_ones(shape):
    job = random_job(np.random.default_rng(1), *shape)
    engine, hardware = small_engine(), small_hardware()
    layer = EngineLayer(*shape)
    tiling = engine_tiling(layer, LIMITS)
    out, cycles = run(engine, hardware, job, 1.0, 1, tiling)
    np.testing.assert_array_equal(out, golden_output(job))
    predicted = predict_cycles(hardware, layer, LIMITS, tiling,
                               (INPUT, WEIGHTS, OUTPUT))
    assert cycles == predicted.cycles


@pytest.mark.parametrize("shape", SHAPES)
def test_outputs_exact_under_memory_backpressure(shape):
    job = random_job(np.random.default_rng(2), *shape)
    engine = small_engine()
    tiling = engine_tiling(EngineLayer(*shape), LIMITS)
    out, _ = run(engine, small_hardware(), job, 0.6, 2, tiling)
    np.testing.assert_array_equal(out, golden_output(job))


WS_SHAPES = [   # channels a multiple of the 2 rows
    (5, 5, 4, 3, 3, 1, 1),     # 3x3 s1 same padding, two column folds
    (7, 6, 4, 5, 3, 2, 1),     # 3x3 s2 with padding
    (4, 5, 4, 4, 1, 1, 0),     # 1x1
    (13, 7, 4, 18, 3, 1, 1),   # 3 bands (5 + 5 + 3 rows: 35 pixels <= 64 accumulators) x 3 blocks
]


@pytest.mark.parametrize("shape", WS_SHAPES)
def test_weight_stationary_cycles_are_the_predicted_ones(shape):
    job = random_job(np.random.default_rng(3), *shape)
    hardware = small_hardware()
    layer = EngineLayer(*shape)
    tiling = engine_tiling(layer, WS_LIMITS)
    out, cycles = run(DramConvEngine(**WS_SMALL), hardware, job, 1.0, 3, tiling)
    np.testing.assert_array_equal(out, golden_output(job))
    assert cycles == predict_cycles(hardware, layer, WS_LIMITS, tiling,
                                    (INPUT, WEIGHTS, OUTPUT)).cycles


@pytest.mark.parametrize("shape", WS_SHAPES[:2])
def test_weight_stationary_outputs_exact_under_memory_backpressure(shape):
    job = random_job(np.random.default_rng(4), *shape)
    tiling = engine_tiling(EngineLayer(*shape), WS_LIMITS)
    out, _ = run(DramConvEngine(**WS_SMALL), small_hardware(), job, 0.6, 4, tiling)
    np.testing.assert_array_equal(out, golden_output(job))


def test_weight_stationary_tile_cycles_by_hand():
    """1x1, 4 x 5 x 4 -> 4 filters on the 2 x 2 ws engine: P = 20, K = 4: 2 column folds of
    4 bias reads + 2 reduction folds of SCALE-Sim's 2 x 2 + 2 + 20 - 2 = 24 cycles plus 4
    register stages, and 4 around the tile: 4 + 2 x (4 + 2 x 28) = 124."""
    assert ws_compute_cycles(EngineLayer(4, 5, 4, 4, 1, 1, 0), 2, 2) == 124


def test_diannao_mini_engine_cycles_are_the_predicted_ones():
    """diannao_mini declares NBout single-buffered, as the engine builds it (one output tile
    memory): 14 x 8 x 8 -> 24 filters in two 7-row bands on the 8 x 8 engine generated from
    the preset."""
    path = "configs/hardware/diannao_mini.yaml"
    hardware = load_hardware(path)
    with tempfile.TemporaryDirectory() as out:
        parameters = generate(path, out)["parameters"]
    limits = EngineLimits(**{key: parameters[key] for key in (
        "rows", "cols", "max_height", "max_width", "max_channels", "input_depth",
        "output_depth", "weight_depth")})
    shape = (14, 8, 8, 24, 3, 1, 1)
    job = random_job(np.random.default_rng(5), *shape)
    layer = EngineLayer(*shape)
    tiling = engine_tiling(layer, limits)
    out, cycles = run(DramConvEngine(**parameters), hardware, job, 1.0, 5, tiling)
    np.testing.assert_array_equal(out, golden_output(job))
    predicted = predict_cycles(hardware, layer, limits, tiling, (INPUT, WEIGHTS, OUTPUT))
    assert predicted.tiles == 2 and cycles == predicted.cycles


DB_SMALL = {**SMALL, "double_input": True, "double_output": True}
DB_LIMITS = dataclasses.replace(LIMITS, double_input=True, double_output=True)
DB_LAYER = (10, 6, 4, 12, 3, 1, 1)


def db_hardware():
    """The small engine's hardware with its ifmap and ofmap declared double-buffered, as
    the double-buffered engine builds them."""
    hardware = small_hardware()
    buffers = hardware.buffers.model_copy(update={
        name: hardware.buffers.declared()[name].model_copy(update={"double_buffered": True})
        for name in ("ifmap", "ofmap")})
    return hardware.model_copy(update={"buffers": buffers})


@pytest.mark.parametrize("tiling", [Tiling(2, 6), Tiling(4, 4)])
def test_double_buffered_cycles_are_the_predicted_ones(tiling):
    """2x2 engine with two input and two output tile memories on 10 x 6 x 4 -> 12, 3x3 s1 p1,
    in 5 bands x 2 blocks and 3 bands x 3 blocks: the next band's input loads while the array
    computes and a tile's outputs drain while the next tile computes; cycles equal to the
    pipeline's prediction with the double buffering the hardware declares, and fewer than
    the single-buffered engine takes on the same tiling (its own prediction, also checked)."""
    job = random_job(np.random.default_rng(8), *DB_LAYER)
    layer = EngineLayer(*DB_LAYER)
    out, cycles = run(DramConvEngine(**DB_SMALL), db_hardware(), job, 1.0, 8, tiling)
    np.testing.assert_array_equal(out, golden_output(job))
    predicted = predict_cycles(db_hardware(), layer, DB_LIMITS, tiling,
                               (INPUT, WEIGHTS, OUTPUT))
    assert cycles == predicted.cycles
    single_out, single = run(small_engine(), small_hardware(), job, 1.0, 8, tiling)
    np.testing.assert_array_equal(single_out, golden_output(job))
    assert single == predict_cycles(small_hardware(), layer, LIMITS, tiling,
                                    (INPUT, WEIGHTS, OUTPUT)).cycles
    assert cycles < single


def test_double_buffered_outputs_exact_under_memory_backpressure():
    job = random_job(np.random.default_rng(9), *DB_LAYER)
    out, _ = run(DramConvEngine(**DB_SMALL), db_hardware(), job, 0.6, 9, Tiling(2, 6))
    np.testing.assert_array_equal(out, golden_output(job))


def test_fastest_tiling_is_the_minimum_of_every_fitting_one():
    """A second implementation of the choice: brute force over every band height and every
    block of whole column folds the small memories hold (checked by hand against the limits:
    at most 49 input pixels, 128 output words and 128 weight words per bank, 9 padded
    rows)."""
    layer = EngineLayer(*DB_LAYER)
    hardware = db_hardware()
    chosen = fastest_tiling(hardware, layer, DB_LIMITS, (INPUT, WEIGHTS, OUTPUT))
    costs = {}
    for folds in range(1, 4):              # 3 folds x 40 words <= 128
        for band in range(1, 11):
            # in-bounds input rows of each band: output rows r .. r + band - 1 read input
            # rows r - 1 .. r + band (pad 1), clipped to the map's 10
            loaded = max(min(10, first + band + 1) - max(0, first - 1)
                         for first in range(0, 10, band))
            if band + 2 > 9 or loaded * 6 > 49 or band * 6 * folds > 128:
                continue
            tiling = Tiling(band, 2 * folds)
            costs[tiling] = predict_cycles(hardware, layer, DB_LIMITS, tiling,
                                           (INPUT, WEIGHTS, OUTPUT)).cycles
    assert costs[chosen] == min(costs.values())
