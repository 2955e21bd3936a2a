"""cocotb test of a generated output-stationary SystolicArray: random int8 tiles streamed with
skew, back to back, accumulators compared with NumPy's exact int32 product after each fold."""

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from accel.array import skewed_inputs

ROWS = int(os.environ["ARRAY_ROWS"])
COLS = int(os.environ["ARRAY_COLS"])


@cocotb.test()
async def random_tiles(dut):
    generator = np.random.default_rng(int(os.environ.get("ARRAY_SEED", "0")))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
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
