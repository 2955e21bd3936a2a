"""LineBuffer in Amaranth's simulator: every window equals the NumPy window of the padded
image, in raster order, under random stalls on both streams, for several frames in a row."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.line_buffer import LineBuffer


def expected_windows(image: np.ndarray, kernel: int, stride: int, padding: int) -> list:
    """The k x k windows of the zero-padded image, raster order of the output pixels."""
    padded = np.pad(image, padding)
    rows = (padded.shape[0] - kernel) // stride + 1
    cols = (padded.shape[1] - kernel) // stride + 1
    return [padded[y * stride:y * stride + kernel, x * stride:x * stride + kernel].tolist()
            for y in range(rows) for x in range(cols)]


def run_frames(buffer: LineBuffer, frames: list[tuple[np.ndarray, int, int, int]],
               in_rate: float, out_rate: float, seed: int) -> list[list]:
    generator = random.Random(seed)
    kmax = buffer.max_kernel
    received: list[list] = []

    async def bench(ctx):
        for image, kernel, stride, padding in frames:
            ctx.set(buffer.height, image.shape[0])
            ctx.set(buffer.width, image.shape[1])
            ctx.set(buffer.kernel, kernel)
            ctx.set(buffer.stride, stride)
            ctx.set(buffer.padding, padding)
            ctx.set(buffer.start, 1)
            await ctx.tick()
            ctx.set(buffer.start, 0)
            pixels = [int(value) for value in image.flatten()]
            windows: list = []
            offset = kmax - kernel
            while ctx.get(buffer.busy) or ctx.get(buffer.windows.valid):
                send = bool(pixels) and generator.random() < in_rate
                take = generator.random() < out_rate
                ctx.set(buffer.pixels.valid, send)
                if send:
                    ctx.set(buffer.pixels.payload, pixels[0])
                ctx.set(buffer.windows.ready, take)
                _, _, in_ready, out_valid, window = await ctx.tick().sample(
                    buffer.pixels.ready, buffer.windows.valid, buffer.windows.payload)
                if send and in_ready:
                    pixels.pop(0)
                if take and out_valid:
                    flat = [int(value) for value in window]
                    windows.append([[flat[(offset + r) * kmax + offset + c]
                                     for c in range(kernel)] for r in range(kernel)])
            assert not pixels, "the frame ended before all its pixels were taken"
            received.append(windows)

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    return received


@pytest.mark.parametrize(("kernel", "stride", "padding", "in_rate", "out_rate", "seed"), [
    (3, 1, 1, 1.0, 1.0, 0),
    (3, 2, 1, 0.7, 0.5, 1),
    (3, 1, 0, 0.4, 0.9, 2),
    (1, 1, 0, 0.8, 0.6, 3),
    (1, 2, 0, 1.0, 0.3, 4),
    (2, 2, 1, 0.6, 0.6, 5),
    (3, 2, 2, 0.9, 0.8, 6),
])
def test_windows_match_numpy(kernel, stride, padding, in_rate, out_rate, seed):
    generator = np.random.default_rng(seed)
    buffer = LineBuffer(max_width=9, max_height=9, max_kernel=3, max_stride=2, pixel_width=8)
    frames = []
    for _ in range(2):
        height, width = generator.integers(kernel, 10, size=2)
        image = generator.integers(1, 256, size=(height, width))
        frames.append((image, kernel, stride, padding))
    received = run_frames(buffer, frames, in_rate, out_rate, seed)
    for (image, *geometry), windows in zip(frames, received, strict=True):
        assert windows == expected_windows(image, *geometry)


def test_frames_with_different_kernels_back_to_back():
    generator = np.random.default_rng(7)
    buffer = LineBuffer(max_width=8, max_height=8, max_kernel=3, max_stride=2)
    frames = [(generator.integers(1, 256, size=(6, 8)), 3, 1, 1),
              (generator.integers(1, 256, size=(5, 4)), 1, 1, 0),
              (generator.integers(1, 256, size=(8, 7)), 3, 2, 1)]
    received = run_frames(buffer, frames, 1.0, 1.0, 7)
    for (image, *geometry), windows in zip(frames, received, strict=True):
        assert windows == expected_windows(image, *geometry)


def test_full_speed_frame_takes_one_cycle_per_padded_position():
    image = np.arange(1, 1 + 8 * 8).reshape(8, 8) % 256
    buffer = LineBuffer(max_width=8, max_height=8)
    cycles = {}

    async def bench(ctx):
        ctx.set(buffer.height, 8)
        ctx.set(buffer.width, 8)
        ctx.set(buffer.kernel, 3)
        ctx.set(buffer.stride, 1)
        ctx.set(buffer.padding, 1)
        ctx.set(buffer.start, 1)
        await ctx.tick()
        ctx.set(buffer.start, 0)
        ctx.set(buffer.windows.ready, 1)
        ctx.set(buffer.pixels.valid, 1)
        pixels = [int(value) for value in image.flatten()]
        count = 0
        while ctx.get(buffer.busy):
            ctx.set(buffer.pixels.payload, pixels[0] if pixels else 0)
            _, _, ready = await ctx.tick().sample(buffer.pixels.ready)
            if ready and pixels:
                pixels.pop(0)
            count += 1
        cycles["frame"] = count

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    assert cycles["frame"] == (8 + 2) * (8 + 2)


@pytest.mark.parametrize("arguments", [
    {"max_width": 0, "max_height": 4}, {"max_width": 4, "max_height": 4, "max_kernel": 0},
])
def test_bad_sizes_are_refused(arguments):
    with pytest.raises(TypeError, match="must be"):
        LineBuffer(**arguments)
