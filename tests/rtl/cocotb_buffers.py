"""cocotb tests of the generated PingPongBuffer and LineBuffer on Icarus Verilog: random data,
random stalls on both sides, a reset in mid-stream, results compared with Python/NumPy."""

import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

KIND = os.environ["BUFFER_KIND"]


async def reset(dut, inputs: tuple[str, ...]) -> None:
    await FallingEdge(dut.clk)
    dut.rst.value = 1
    for port in inputs:
        getattr(dut, port).value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def ping_pong_blocks(dut, blocks, rng: random.Random, stop_after: int | None = None):
    """Write ``blocks`` and read each committed bank back in a random address order, then mark
    it done. Inputs are driven at the falling edge and judged before the rising edge; a word
    asked for in one cycle is on ``read_data`` in the next. Returns the banks read."""
    pending = [(word, index == len(block) - 1) for block in blocks
               for index, word in enumerate(block)]
    width = len(dut.read_data)
    seen, reading, order, requested = [], None, [], None
    for cycle in range(100_000):
        if stop_after is not None and cycle == stop_after:
            return seen
        await FallingEdge(dut.clk)
        offer = bool(pending) and rng.random() < 0.7
        dut.write__valid.value = int(offer)
        if offer:
            word, last = pending[0]
            dut.write__payload.value = word | (int(last) << width)
        done = reading is not None and not order and requested is None
        dut.read_done.value = int(done)
        asked = None
        if reading is not None and order and rng.random() < 0.6:
            asked = order.pop()
            dut.read_addr.value = asked
        await ReadOnly()
        if requested is not None:
            reading[requested] = int(dut.read_data.value)
        requested = asked
        if offer and dut.write__ready.value:
            pending.pop(0)
        if done:
            seen.append(reading)
            reading = None
        elif reading is None and dut.read_ready.value:
            size = int(dut.read_size.value)
            reading, order = [None] * size, rng.sample(range(size), size)
        await RisingEdge(dut.clk)
        if len(seen) == len(blocks):
            return seen
    raise AssertionError("the ping-pong buffer stopped moving")


@cocotb.test(skip=KIND != "ping_pong")
async def ping_pong_random_blocks_and_reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    inputs = ("write__valid", "read_done", "read_addr")
    await reset(dut, inputs)
    rng = random.Random(1)
    depth = int(os.environ["BUFFER_DEPTH"])
    width = len(dut.read_data)

    def blocks(count):
        sizes = [rng.choice([depth, rng.randint(1, depth)]) for _ in range(count)]
        return [[rng.randrange(1 << width) for _ in range(size)] for size in sizes]

    interrupted = blocks(5)
    await ping_pong_blocks(dut, interrupted, rng, stop_after=3 * depth)
    await reset(dut, inputs)
    await ReadOnly()
    assert not dut.read_ready.value and dut.write__ready.value
    await RisingEdge(dut.clk)
    written = blocks(9)
    assert await ping_pong_blocks(dut, written, rng) == written
    dut._log.info("%d banks, %d words read back", len(written), sum(map(len, written)))


def windows_of(image: np.ndarray, kernel: int, stride: int, padding: int) -> list:
    padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)))
    rows = (padded.shape[0] - kernel) // stride + 1
    cols = (padded.shape[1] - kernel) // stride + 1
    return [padded[y * stride:y * stride + kernel, x * stride:x * stride + kernel].tolist()
            for y in range(rows) for x in range(cols)]


async def line_buffer_frame(dut, image, kernel, stride, padding, rng, stop_after=None):
    kmax = int(os.environ["BUFFER_KERNEL"])
    channels = image.shape[2]
    await FallingEdge(dut.clk)
    for port, value in (("height", image.shape[0]), ("width", image.shape[1]),
                        ("kernel", kernel), ("stride", stride), ("padding", padding)):
        getattr(dut, port).value = value
    dut.start.value = 1
    await RisingEdge(dut.clk)
    pixels = [int.from_bytes(bytes(pixel), "little") for pixel in
              image.astype(np.uint8).reshape(-1, channels)]
    windows, offset = [], kmax - kernel
    for cycle in range(100_000):
        await FallingEdge(dut.clk)
        dut.start.value = 0
        if stop_after is not None and cycle == stop_after:
            return windows
        offer, take = bool(pixels) and rng.random() < 0.7, rng.random() < 0.6
        dut.pixels__valid.value = int(offer)
        if offer:
            dut.pixels__payload.value = pixels[0]
        dut.windows__ready.value = int(take)
        await ReadOnly()
        if offer and dut.pixels__ready.value:
            pixels.pop(0)
        if take and dut.windows__valid.value:
            flat = int(dut.windows__payload.value)
            bits = 8 * channels
            window = [(flat >> (bits * index)) & ((1 << bits) - 1) for index in range(kmax ** 2)]
            windows.append([[list((window[(offset + r) * kmax + offset + c])
                                  .to_bytes(channels, "little")) for c in range(kernel)]
                            for r in range(kernel)])
        elif not dut.busy.value and not dut.windows__valid.value:
            assert not pixels
            return windows
        await RisingEdge(dut.clk)
    raise AssertionError("the line buffer stopped moving")


@cocotb.test(skip=KIND != "line_buffer")
async def line_buffer_random_frames_and_reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    inputs = ("start", "pixels__valid", "windows__ready")
    await reset(dut, inputs)
    rng = random.Random(2)
    generator = np.random.default_rng(2)
    channels = int(os.environ["BUFFER_CHANNELS"])
    size = int(os.environ["BUFFER_WIDTH"])

    def image():
        height, width = generator.integers(3, size + 1, size=2)
        return generator.integers(0, 256, size=(height, width, channels))

    await line_buffer_frame(dut, image(), 3, 1, 1, rng, stop_after=40)
    await reset(dut, inputs)
    await ReadOnly()
    assert not dut.busy.value and not dut.windows__valid.value
    await RisingEdge(dut.clk)
    for kernel, stride, padding in ((3, 1, 1), (3, 2, 1), (1, 1, 0), (3, 2, 0), (2, 1, 1)):
        frame = image()
        got = await line_buffer_frame(dut, frame, kernel, stride, padding, rng)
        assert got == windows_of(frame, kernel, stride, padding), (kernel, stride, padding)
