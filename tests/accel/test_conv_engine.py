"""ConvEngine in Amaranth's simulator on small layers: outputs bit-exact with ``sim.golden``,
K feed cycles per fold, under random stalls on all streams; the os-overlap fold model
worked by hand."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given
from hypothesis import strategies as st

from accel.conv_engine import ConvEngine
from accel.conv_stream import (
    activation_words,
    compute_cycles,
    golden_output,
    random_job,
    unpack_outputs,
    weight_words,
)
from sim.mapping import overlapped_os_cycles, systolic_cycles


def run_engine(engine: ConvEngine, jobs, rate: float, seed: int):
    """Run ``jobs`` one after the other; per job the output words, ``cycles`` and
    ``compute_cycles``. Weights of every job are streamed as early as the buffer takes them."""
    generator = random.Random(seed)
    results = []

    async def weights(ctx):
        for job in jobs:
            words = weight_words(job, engine.cols)
            for index, word in enumerate(words):
                while generator.random() > rate:
                    ctx.set(engine.weights.valid, 0)
                    await ctx.tick()
                ctx.set(engine.weights.payload, {"data": word, "last": index == len(words) - 1})
                ctx.set(engine.weights.valid, 1)
                await ctx.tick().until(engine.weights.ready)
            ctx.set(engine.weights.valid, 0)

    async def control(ctx):
        for job in jobs:
            height, width, _ = job.x.shape
            for port, value in (("height", height), ("width", width),
                                ("channels", job.channels), ("filters", job.filters),
                                ("kernel", job.kernel), ("stride", job.stride),
                                ("padding", job.padding), ("multiplier", job.multiplier),
                                ("shift", job.shift), ("zero_point", job.zero_point),
                                ("qmin", job.qmin), ("qmax", job.qmax)):
                ctx.set(getattr(engine, port), value)
            ctx.set(engine.start, 1)
            await ctx.tick()
            ctx.set(engine.start, 0)
            pixels = activation_words(job)
            words = []
            while ctx.get(engine.busy):
                send = bool(pixels) and generator.random() < rate
                take = generator.random() < rate
                ctx.set(engine.activations.valid, send)
                if send:
                    ctx.set(engine.activations.payload, pixels[0])
                ctx.set(engine.outputs.ready, take)
                _, _, in_ready, out_valid, payload = await ctx.tick().sample(
                    engine.activations.ready, engine.outputs.valid, engine.outputs.payload)
                if send and in_ready:
                    pixels.pop(0)
                if take and out_valid:
                    words.append(payload)
            ctx.set(engine.activations.valid, 0)
            results.append((words, ctx.get(engine.cycles), ctx.get(engine.compute_cycles)))

    simulator = Simulator(engine)
    simulator.add_clock(1e-8)
    simulator.add_testbench(weights, background=True)
    simulator.add_testbench(control)
    simulator.run()
    return results


def small_engine() -> ConvEngine:
    return ConvEngine(rows=2, cols=3, max_width=7, max_height=7, max_channels=3, max_kernel=3,
                      max_stride=2, weight_depth=64)


@pytest.mark.parametrize(("shape", "rate", "seed"), [
    ((5, 5, 2, 3, 3, 1, 1), 1.0, 0),     # 3x3 s1 same padding, filters fill the columns
    ((7, 6, 3, 5, 3, 2, 1), 0.6, 1),     # 3x3 s2 with padding, two column folds
    ((4, 5, 3, 4, 1, 1, 0), 0.8, 2),     # 1x1
    ((6, 6, 2, 2, 3, 1, 0), 0.5, 3),     # valid 3x3, fewer filters than columns
])
def test_layers_match_golden_and_cycle_model(shape, rate, seed):
    height, width, channels, filters, kernel, stride, padding = shape
    job = random_job(np.random.default_rng(seed), height, width, channels, filters, kernel,
                     stride, padding)
    engine = small_engine()
    (words, cycles, busy_cycles), = run_engine(engine, [job], rate, seed)
    np.testing.assert_array_equal(unpack_outputs(words, job, engine.rows, engine.cols),
                                  golden_output(job))
    assert busy_cycles == compute_cycles(job, engine.rows, engine.cols)
    assert cycles >= busy_cycles


def test_back_to_back_tiles_with_different_kernels():
    rng = np.random.default_rng(9)
    jobs = [random_job(rng, 5, 4, 3, 4, 3, 1, 1), random_job(rng, 3, 3, 2, 3, 1, 1, 0),
            random_job(rng, 7, 7, 1, 2, 3, 2, 0)]
    engine = small_engine()
    for job, (words, _, busy_cycles) in zip(jobs, run_engine(engine, jobs, 0.8, 9),
                                            strict=True):
        np.testing.assert_array_equal(unpack_outputs(words, job, engine.rows, engine.cols),
                                      golden_output(job))
        assert busy_cycles == compute_cycles(job, engine.rows, engine.cols)


def test_requantization_clips_to_the_configured_range():
    """A ReLU-style clip (qmin = zero point) and a large multiplier that saturates."""
    rng = np.random.default_rng(4)
    base = random_job(rng, 4, 4, 2, 3, 3, 1, 1)
    job = type(base)(base.x, base.w, 1, 1, multiplier=(1 << 16) - 1, shift=12, zero_point=-5,
                     qmin=-5, qmax=100)
    engine = small_engine()
    (words, _, _), = run_engine(engine, [job], 1.0, 4)
    out = unpack_outputs(words, job, engine.rows, engine.cols)
    np.testing.assert_array_equal(out, golden_output(job))
    assert out.min() == -5 and out.max() == 100


def test_bad_sizes_are_refused():
    with pytest.raises(TypeError, match="must be"):
        ConvEngine(rows=0)


def test_overlapped_fold_model_by_hand():
    """4x4 array, 16x16 outputs, K = 3 * 3 * 8 = 72, 8 filters: 64 pixel groups x 2 filter
    groups = 128 folds of 72 cycles, and the last fold's 4 + 4 - 2 = 6 cycles of drain:
    9,222. SCALE-Sim drains every fold alone: 128 x (72 + 6) - 1 = 9,983. One fold alone is
    SCALE-Sim's fold (72 + 6 = 78 = its total + 1)."""
    assert overlapped_os_cycles(4, 4, 256, 72, 8) == 128 * 72 + 6 == 9222
    assert systolic_cycles("os", 4, 4, 256, 72, 8) == 9983
    assert overlapped_os_cycles(4, 4, 4, 72, 4) == systolic_cycles("os", 4, 4, 4, 72, 4) + 1


@given(rows=st.integers(1, 16), cols=st.integers(1, 16), pixels=st.integers(1, 500),
       k=st.integers(1, 600), filters=st.integers(1, 100))
def test_overlap_never_slower_than_scalesim(rows, cols, pixels, k, filters):
    """Overlapping saves rows + cols - 2 cycles on every fold but the last."""
    folds = -(-pixels // rows) * -(-filters // cols)
    saved = systolic_cycles("os", rows, cols, pixels, k, filters) + 1 \
        - overlapped_os_cycles(rows, cols, pixels, k, filters)
    assert saved == (folds - 1) * (rows + cols - 2) >= 0
