"""cocotb test of the generated MacPE Verilog: random operands, random valid, restarts, and a
reset in mid-stream, checked every cycle against Python integer arithmetic."""

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

ACC_BITS = int(os.environ.get("MAC_PE_ACC_BITS", "32"))


def wrap(value: int) -> int:
    value &= (1 << ACC_BITS) - 1
    return value - (1 << ACC_BITS) if value >> (ACC_BITS - 1) else value


@cocotb.test()
async def random_stream_with_reset(dut):
    generator = random.Random(int(os.environ.get("MAC_PE_SEED", "1")))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.valid_in.value = 0
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    acc = 0
    for cycle in range(600):
        reset = cycle == 300
        a, b = generator.randint(-128, 127), generator.randint(-128, 127)
        valid = generator.random() < 0.7
        first = generator.random() < 0.05
        dut.rst.value = int(reset)
        dut.a_in.value = a
        dut.b_in.value = b
        dut.valid_in.value = int(valid)
        dut.first_in.value = int(first)
        await RisingEdge(dut.clk)
        await ReadOnly()
        if reset:
            acc = 0
        elif valid:
            acc = wrap(a * b if first else acc + a * b)
        assert dut.acc.value.to_signed() == acc, f"cycle {cycle}"
        if not reset:
            assert dut.a_out.value.to_signed() == a and dut.b_out.value.to_signed() == b
        await FallingEdge(dut.clk)
