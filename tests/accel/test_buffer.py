"""PingPongBuffer in Amaranth's simulator: every bank reads back what was written, nothing is
overwritten before release, under random stalls on both sides."""

import random

import pytest
from amaranth.sim import Simulator

from accel.buffer import PingPongBuffer


def run(buffer: PingPongBuffer, blocks: list[list[int]], write_rate: float, read_rate: float,
        seed: int, reads_per_block: int = 1) -> tuple[list[list[int]], int]:
    """Write ``blocks`` (each ended by ``last``); the reader reads each committed bank
    ``reads_per_block`` times in a random address order, then releases it. Returns what the
    reader saw per bank and the cycles taken."""
    generator = random.Random(seed)
    seen: list[list[int]] = []
    result = {}

    async def writer(ctx):
        for block in blocks:
            for index, word in enumerate(block):
                while generator.random() > write_rate:
                    ctx.set(buffer.write.valid, 0)
                    await ctx.tick()
                ctx.set(buffer.write.payload, {"data": word, "last": index == len(block) - 1})
                ctx.set(buffer.write.valid, 1)
                await ctx.tick().until(buffer.write.ready)
        ctx.set(buffer.write.valid, 0)

    async def reader(ctx):
        cycles = 0
        while len(seen) < len(blocks):
            await ctx.tick()
            cycles += 1
            if not ctx.get(buffer.read_ready) or generator.random() > read_rate:
                continue
            size = ctx.get(buffer.read_size)
            words = [None] * size
            for _ in range(reads_per_block):
                order = list(range(size))
                generator.shuffle(order)
                for address in order:
                    ctx.set(buffer.read_addr, address)
                    await ctx.tick()
                    cycles += 1
                    words[address] = ctx.get(buffer.read_data)
            seen.append(words)
            ctx.set(buffer.read_done, 1)
            await ctx.tick()
            cycles += 1
            ctx.set(buffer.read_done, 0)
        result["cycles"] = cycles

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(writer, background=True)
    simulator.add_testbench(reader)
    simulator.run()
    return seen, result["cycles"]


def random_blocks(depth: int, count: int, seed: int) -> list[list[int]]:
    generator = random.Random(seed)
    return [[generator.randrange(1 << 16) for _ in range(generator.randint(1, depth))]
            for _ in range(count)]


@pytest.mark.parametrize(("depth", "banks", "write_rate", "read_rate", "seed"), [
    (4, 2, 1.0, 1.0, 0), (4, 2, 0.6, 0.3, 1), (8, 2, 0.3, 0.9, 2), (1, 2, 0.8, 0.8, 3),
    (16, 2, 1.0, 0.5, 4), (3, 3, 0.9, 0.4, 5), (5, 4, 0.5, 0.7, 6),
])
def test_every_bank_reads_back_what_was_written(depth, banks, write_rate, read_rate, seed):
    blocks = random_blocks(depth, 7, seed)
    buffer = PingPongBuffer(depth=depth, width=16, banks=banks)
    seen, _ = run(buffer, blocks, write_rate, read_rate, seed, reads_per_block=2)
    assert seen == blocks


def test_a_full_block_commits_without_last():
    depth = 4
    buffer = PingPongBuffer(depth=depth, width=8)
    seen = []

    async def bench(ctx):
        for word in range(depth):
            ctx.set(buffer.write.payload, {"data": word + 10, "last": 0})
            ctx.set(buffer.write.valid, 1)
            await ctx.tick()
        ctx.set(buffer.write.valid, 0)
        await ctx.tick()
        assert ctx.get(buffer.read_ready) and ctx.get(buffer.read_size) == depth
        for address in range(depth):
            ctx.set(buffer.read_addr, address)
            await ctx.tick()
            seen.append(ctx.get(buffer.read_data))

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    assert seen == [10, 11, 12, 13]


def test_an_unreleased_bank_stalls_the_writer_after_all_banks_fill():
    """With the reader never releasing, exactly ``banks * depth`` words are accepted, and the
    first bank still reads back intact."""
    depth, banks = 4, 3
    buffer = PingPongBuffer(depth=depth, width=8, banks=banks)
    accepted = []
    first_bank = []

    async def bench(ctx):
        ctx.set(buffer.write.valid, 1)
        for cycle in range(40):
            ctx.set(buffer.write.payload, {"data": cycle, "last": 0})
            _, _, ready = await ctx.tick().sample(buffer.write.ready)
            if ready:
                accepted.append(cycle)
        for address in range(depth):
            ctx.set(buffer.read_addr, address)
            await ctx.tick()
            first_bank.append(ctx.get(buffer.read_data))

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    assert accepted == list(range(banks * depth))
    assert first_bank == list(range(depth))


def test_streaming_through_keeps_the_writer_busy():
    """With a reader that releases as soon as it has read a bank, the writer is never stalled
    for long: 6 full banks pass in well under twice their word count."""
    depth = 8
    blocks = [list(range(block * depth, (block + 1) * depth)) for block in range(6)]
    seen, cycles = run(PingPongBuffer(depth=depth, width=16), blocks, 1.0, 1.0, 0)
    assert seen == blocks
    assert cycles <= 6 * (depth + 2) + depth + 4


@pytest.mark.parametrize("arguments", [
    {"depth": 0, "width": 8}, {"depth": 4, "width": 0}, {"depth": 4, "width": 8, "banks": 1},
    {"depth": 4.0, "width": 8},
])
def test_bad_sizes_are_refused(arguments):
    with pytest.raises(TypeError, match="must be"):
        PingPongBuffer(**arguments)
