"""MacPE in Amaranth's simulator against Python integer arithmetic."""

import random

from amaranth.sim import Simulator

from accel.pe import MacPE


def run(pe: MacPE, stimuli: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int]]:
    """Drive (a, b, valid, first) each cycle; record (acc, a_out, b_out) after each edge."""
    observed = []

    async def bench(ctx):
        for a, b, valid, first in stimuli:
            ctx.set(pe.a_in, a)
            ctx.set(pe.b_in, b)
            ctx.set(pe.valid_in, valid)
            ctx.set(pe.first_in, first)
            await ctx.tick()
            observed.append((ctx.get(pe.acc), ctx.get(pe.a_out), ctx.get(pe.b_out)))

    simulator = Simulator(pe)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    return observed


def test_accumulates_and_restarts_like_integers():
    generator = random.Random(3)
    stimuli, expected, acc = [], [], 0
    for cycle in range(200):
        a, b = generator.randint(-128, 127), generator.randint(-128, 127)
        valid = int(generator.random() < 0.8)
        first = int(cycle % 37 == 0)
        stimuli.append((a, b, valid, first))
        if valid:
            acc = a * b if first else acc + a * b
        expected.append((acc, a, b))
    assert run(MacPE(), stimuli) == expected


def wrap(value: int, bits: int) -> int:
    """Two's-complement wrap of a Python integer to ``bits`` bits."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def test_accumulator_wraps_at_its_width():
    stimuli = [(-128, -128, 1, 1)] + [(-128, -128, 1, 0)] * 5
    observed = run(MacPE(data_width=8, acc_width=16), stimuli)
    assert [acc for acc, _, _ in observed] == [wrap(16384 * n, 16) for n in range(1, 7)]


def test_pass_through_and_accumulator_latency_match_the_property():
    pe = MacPE()
    observed = run(pe, [(5, -7, 1, 1), (0, 0, 0, 0)])
    assert pe.latency == 1
    assert observed[pe.latency - 1] == (-35, 5, -7)
