"""SystolicArray (output- and weight-stationary) in Amaranth's simulator against the golden
matrix product, and its fold latency against the simulator's compute model."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.array import SystolicArray, skewed_inputs, weight_stationary_inputs
from sim.golden.ops import fully_connected
from sim.mapping import systolic_cycles


def run_tile(array: SystolicArray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Stream one tile; returns the accumulators and the cycles until they all hold A @ B."""
    stream = skewed_inputs(a.tolist(), b.tolist())
    expected = fully_connected(a, b)
    result = {}

    async def bench(ctx):
        cycles = 0
        for a_row, valid, first, b_col in stream:
            for i in range(array.rows):
                ctx.set(array.a_in[i], a_row[i])
                ctx.set(array.valid_in[i], valid[i])
                ctx.set(array.first_in[i], first[i])
            for j in range(array.cols):
                ctx.set(array.b_in[j], b_col[j])
            await ctx.tick()
            cycles += 1
        for i in range(array.rows):
            ctx.set(array.valid_in[i], 0)
        values = np.array([[ctx.get(array.acc[i * array.cols + j]) for j in range(array.cols)]
                           for i in range(array.rows)])
        result["acc"], result["cycles"] = values, cycles

    simulator = Simulator(array)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    assert result["acc"].shape == expected.shape
    return result["acc"], result["cycles"]


@pytest.mark.parametrize(("rows", "cols", "k", "seed"), [(4, 4, 9, 0), (4, 4, 72, 1),
                                                         (3, 5, 16, 2)])
def test_tile_equals_golden_and_fold_latency(rows, cols, k, seed):
    generator = np.random.default_rng(seed)
    a = generator.integers(-128, 128, size=(rows, k), dtype=np.int8)
    b = generator.integers(-128, 128, size=(k, cols), dtype=np.int8)
    array = SystolicArray(rows=rows, cols=cols)
    acc, cycles = run_tile(array, a, b)
    np.testing.assert_array_equal(acc, fully_connected(a, b))
    assert cycles == array.fold_cycles(k)
    # One fold of SCALE-Sim's os model is fold - 1 cycles: a constant offset of one cycle.
    assert cycles == systolic_cycles("os", rows, cols, rows, k, cols) + 1
    utilization = a.size * cols / (rows * cols * cycles)
    assert 0 < utilization <= 1


def test_extreme_values_do_not_saturate():
    a = np.full((4, 64), -128, dtype=np.int8)
    b = np.full((64, 4), -128, dtype=np.int8)
    acc, _ = run_tile(SystolicArray(rows=4, cols=4), a, b)
    assert (acc == 64 * 16384).all()


def run_weight_stationary(array: SystolicArray, a: np.ndarray, w: np.ndarray
                          ) -> tuple[np.ndarray, int]:
    """Load W, stream A; returns the bottom outputs (P x M) and the cycle after which the last
    one has left, counting the first load cycle as cycle 0."""
    stream = weight_stationary_inputs(a.tolist(), w.tolist())
    outputs: list[list[int]] = [[] for _ in range(array.cols)]
    result = {}

    async def bench(ctx):
        cycles = 0
        for t in range(len(stream) + array.rows + array.cols):
            load, w_col, a_row, valid = stream[t] if t < len(stream) else (0, [0] * array.cols,
                                                                           [0] * array.rows,
                                                                           [0] * array.rows)
            ctx.set(array.load, load)
            for j in range(array.cols):
                ctx.set(array.w_in[j], w_col[j])
            for i in range(array.rows):
                ctx.set(array.a_in[i], a_row[i])
                ctx.set(array.valid_in[i], valid[i])
            await ctx.tick()
            cycles += 1
            for j in range(array.cols):
                if ctx.get(array.valid_out[j]):
                    outputs[j].append(ctx.get(array.psum_out[j]))
                    result["last"] = cycles

    simulator = Simulator(array)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    return np.array(outputs).T, result["last"]


@pytest.mark.parametrize(("rows", "cols", "pixels", "seed"), [(4, 4, 9, 0), (4, 4, 30, 1),
                                                              (3, 5, 1, 2), (5, 2, 12, 3)])
def test_weight_stationary_equals_golden_and_scalesim_fold(rows, cols, pixels, seed):
    generator = np.random.default_rng(seed)
    a = generator.integers(-128, 128, size=(pixels, rows), dtype=np.int8)
    w = generator.integers(-128, 128, size=(rows, cols), dtype=np.int8)
    array = SystolicArray(rows=rows, cols=cols, dataflow="ws")
    out, cycles = run_weight_stationary(array, a, w)
    np.testing.assert_array_equal(out, fully_connected(a, w))
    assert cycles == array.fold_cycles(pixels)
    assert cycles == systolic_cycles("ws", rows, cols, pixels, rows, cols) + 1


def test_unknown_dataflow_is_refused():
    with pytest.raises(TypeError, match="Dataflow"):
        SystolicArray(rows=2, cols=2, dataflow="is")
