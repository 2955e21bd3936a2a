"""cocotb tests of a generated SystolicArray. Output-stationary: random int8 tiles streamed with
skew, back to back, accumulators compared with NumPy's exact int32 product after each fold.
Weight-stationary: random weight tiles loaded, random pixels streamed, a reset part way, every
column output compared with NumPy and the last one timed against SCALE-Sim's ws fold."""

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from accel.array import skewed_inputs, weight_stationary_inputs

ROWS = int(os.environ["ARRAY_ROWS"])
COLS = int(os.environ["ARRAY_COLS"])
DATAFLOW = os.environ.get("ARRAY_DATAFLOW", "os")


async def pulse_reset(dut) -> None:
    """Reset for one clock cycle; return at the falling edge after it."""
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def start(dut) -> np.random.Generator:
    """Start the clock, reset, and return the run's seeded random generator."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await pulse_reset(dut)
    return np.random.default_rng(int(os.environ.get("ARRAY_SEED", "0")))


@cocotb.test(skip=DATAFLOW != "os")
async def random_tiles(dut):
    generator = await start(dut)
    for tile in range(4):
        k = int(generator.integers(1, 40))
        a = generator.integers(-128, 128, size=(ROWS, k))
        b = generator.integers(-128, 128, size=(k, COLS))
        if tile == 3:
            a[:] = -128
            b[:] = -128
        for a_row, valid, first, b_col in skewed_inputs(a.tolist(), b.tolist()):
            for i in range(ROWS):
                getattr(dut, f"a_in__{i}").value = a_row[i]
                getattr(dut, f"valid_in__{i}").value = valid[i]
                getattr(dut, f"first_in__{i}").value = first[i]
            for j in range(COLS):
                getattr(dut, f"b_in__{j}").value = b_col[j]
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
        # Read right after the last of the k + rows + cols - 2 stream cycles: the fold latency.
        await ReadOnly()
        expected = a.astype(np.int64) @ b.astype(np.int64)
        for i in range(ROWS):
            for j in range(COLS):
                got = getattr(dut, f"acc__{i * COLS + j}").value.to_signed()
                assert got == expected[i, j], (tile, i, j)
        await FallingEdge(dut.clk)
        for i in range(ROWS):
            getattr(dut, f"valid_in__{i}").value = 0


async def weight_stationary_tile(dut, a: np.ndarray, w: np.ndarray, stop_after=None):
    """Load ``w``, stream ``a``; the bottom outputs per column and the cycle (from the first
    load cycle, counted as 0) after which the last one left."""
    stream = weight_stationary_inputs(a.tolist(), w.tolist())
    idle = (0, [0] * COLS, [0] * ROWS, [0] * ROWS)
    outputs = [[] for _ in range(COLS)]
    last = None
    for t in range(len(stream) + ROWS + COLS):
        if stop_after is not None and t == stop_after:
            return outputs, last
        load, w_col, a_row, valid = stream[t] if t < len(stream) else idle
        dut.load.value = load
        for j in range(COLS):
            getattr(dut, f"w_in__{j}").value = w_col[j]
        for i in range(ROWS):
            getattr(dut, f"a_in__{i}").value = a_row[i]
            getattr(dut, f"valid_in__{i}").value = valid[i]
        await RisingEdge(dut.clk)
        await ReadOnly()
        for j in range(COLS):
            if getattr(dut, f"valid_out__{j}").value:
                outputs[j].append(getattr(dut, f"psum_out__{j}").value.to_signed())
                last = t + 1
        await FallingEdge(dut.clk)
    return outputs, last


@cocotb.test(skip=DATAFLOW != "ws")
async def weight_stationary_tiles_and_reset(dut):
    generator = await start(dut)
    for tile in range(5):
        pixels = int(generator.integers(1, 30))
        a = generator.integers(-128, 128, size=(pixels, ROWS))
        w = generator.integers(-128, 128, size=(ROWS, COLS))
        if tile == 3:
            a[:] = -128
            w[:] = -128
        if tile == 2:            # reset part way through a tile, then run a fresh one
            await weight_stationary_tile(dut, a, w, stop_after=ROWS + pixels // 2)
            await pulse_reset(dut)
        outputs, last = await weight_stationary_tile(dut, a, w)
        expected = a.astype(np.int64) @ w.astype(np.int64)
        assert np.array_equal(np.array(outputs).T, expected), tile
        assert last == 2 * ROWS + COLS + pixels - 2, tile
