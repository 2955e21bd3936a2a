"""cocotb tests of the generated ConvEngine on Icarus Verilog: three random conv layers with
random backpressure on every stream, outputs bit-exact with ``sim.golden`` and K feed cycles
per fold; a reset in mid-stream; total cycles and PE utilization at full rate.

Settings come from the environment: ENGINE_ROWS, ENGINE_COLS, ENGINE_REPORT (a JSON file the
measured figures are written to) and ENGINE_LAYERS (JSON: name -> height, width, channels,
filters, kernel, stride, padding; the three layers below when unset).
"""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from accel.conv_stream import (
    activation_words,
    compute_cycles,
    full_rate_cycles,
    golden_output,
    random_job,
    unpack_outputs,
    weight_words,
)
from sim.mapping import overlapped_os_cycles, systolic_cycles
from sim.rtl_schedule import BIAS_WORDS

ROWS = int(os.environ["ENGINE_ROWS"])
COLS = int(os.environ["ENGINE_COLS"])

LAYERS = {   # height, width, channels, filters, kernel, stride, padding
    "3x3_s1": (16, 16, 8, 8, 3, 1, 1),
    "3x3_s2_pad": (15, 15, 8, 6, 3, 2, 1),
    "1x1": (12, 12, 8, 12, 1, 1, 0),
}
if "ENGINE_LAYERS" in os.environ:
    LAYERS = {name: tuple(shape) for name, shape in json.loads(os.environ["ENGINE_LAYERS"]).items()}


async def reset(dut, cycles: int = 2) -> None:
    await FallingEdge(dut.clk)
    dut.rst.value = 1
    for port in ("start", "activations__valid", "weights__valid", "outputs__ready"):
        getattr(dut, port).value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


def configure(dut, job) -> None:
    height, width, _ = job.x.shape
    for port, value in (("height", height), ("width", width), ("channels", job.channels),
                        ("filters", job.filters), ("kernel", job.kernel),
                        ("stride", job.stride), ("padding", job.padding),
                        ("multiplier", job.multiplier), ("shift", job.shift),
                        ("zero_point", job.zero_point), ("qmin", job.qmin),
                        ("qmax", job.qmax)):
        getattr(dut, port).value = value


class Streams:
    """Drives activations and weights and takes outputs, one decision per cycle each, with
    the given probability of offering (valid) or accepting (ready)."""

    def __init__(self, dut, rate: float, seed: int) -> None:
        self.dut, self.rate = dut, rate
        self.random = random.Random(seed)
        self.pixels: list[int] = []
        self.weights: list[int] = []
        self.outputs: list[int] = []

    def queue_weights(self, job) -> None:
        words = weight_words(job, COLS)
        self.weights += [word | ((index == len(words) - 1) << (8 * COLS))
                         for index, word in enumerate(words)]

    async def cycle(self, start: bool = False) -> bool:
        """One clock cycle: drive at the falling edge, judge the handshakes before the rising
        edge. Every edge passes through here, so nothing stale is ever sampled. Returns
        whether the engine was busy during the cycle."""
        dut = self.dut
        await FallingEdge(dut.clk)
        send_pixel = bool(self.pixels) and self.random.random() < self.rate
        send_weight = bool(self.weights) and self.random.random() < self.rate
        take = self.random.random() < self.rate
        dut.start.value = int(start)
        dut.activations__valid.value = int(send_pixel)
        if send_pixel:
            dut.activations__payload.value = self.pixels[0]
        dut.weights__valid.value = int(send_weight)
        if send_weight:
            dut.weights__payload.value = self.weights[0]
        dut.outputs__ready.value = int(take)
        await ReadOnly()
        busy = bool(dut.busy.value)
        if send_pixel and dut.activations__ready.value:
            self.pixels.pop(0)
        if send_weight and dut.weights__ready.value:
            self.weights.pop(0)
        if take and dut.outputs__valid.value:
            self.outputs.append(int(dut.outputs__payload.value))
        await RisingEdge(dut.clk)
        return busy

    async def begin(self, job) -> None:
        """Configure and start ``job`` (its weights must be queued)."""
        configure(self.dut, job)
        self.pixels = activation_words(job)
        self.outputs = []
        while await self.cycle(start=True):   # start is taken in the first idle cycle
            pass

    async def run(self, job, max_cycles: int = 200_000) -> tuple[list[int], int, int]:
        """Start ``job`` and run it to the end; its output words, ``cycles`` and
        ``compute_cycles``."""
        await self.begin(job)
        for _ in range(max_cycles):
            if not await self.cycle():
                break
        else:
            raise AssertionError("the engine did not finish the tile")
        assert not self.pixels, "the tile ended before every pixel was taken"
        dut = self.dut
        return self.outputs, int(dut.cycles.value), int(dut.compute_cycles.value)


def check(job, words: list[int], busy_cycles: int, name: str) -> None:
    got = unpack_outputs(words, job, ROWS, COLS)
    expected = golden_output(job)
    mismatches = np.argwhere(got != expected)
    assert mismatches.size == 0, f"{name}: {len(mismatches)} outputs differ, first at " \
                                 f"{mismatches[0].tolist()}"
    assert busy_cycles == compute_cycles(job, ROWS, COLS), name


def report(key: str, value) -> None:
    path = os.environ["ENGINE_REPORT"]
    figures = json.load(open(path)) if os.path.exists(path) else {}
    figures[key] = value
    with open(path, "w") as handle:
        json.dump(figures, handle, indent=2)


@cocotb.test()
async def three_layers_under_backpressure(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = np.random.default_rng(1)
    jobs = {name: random_job(rng, *shape) for name, shape in LAYERS.items()}
    streams = Streams(dut, rate=0.7, seed=1)
    for job in jobs.values():       # all weights queued: the next tile's load behind this one
        streams.queue_weights(job)
    for name, job in jobs.items():
        words, cycles, busy_cycles = await streams.run(job)
        check(job, words, busy_cycles, name)
        report(f"backpressure_{name}", {"cycles": cycles, "compute_cycles": busy_cycles})


@cocotb.test()
async def reset_in_mid_stream(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = np.random.default_rng(2)
    shapes = list(LAYERS.values())
    interrupted = random_job(rng, *shapes[0])
    streams = Streams(dut, rate=0.8, seed=2)
    streams.queue_weights(interrupted)
    await streams.begin(interrupted)
    for _ in range(full_rate_cycles(interrupted, ROWS, COLS) // 2):
        await streams.cycle()
    assert streams.outputs and streams.pixels, "reset must fall in the middle of the tile"
    await reset(dut, cycles=3)
    await ReadOnly()
    assert not dut.busy.value and not dut.outputs__valid.value
    await RisingEdge(dut.clk)      # leave the read-only phase; the stream inputs are all low
    streams = Streams(dut, rate=0.8, seed=3)
    for shape in shapes[1:] or shapes:
        job = random_job(rng, *shape)
        streams.queue_weights(job)
        words, _, busy_cycles = await streams.run(job)
        check(job, words, busy_cycles, f"after reset {shape}")


@cocotb.test()
async def utilization_at_full_rate(dut):
    """Every stream always ready: MACs / (PEs x cycles) for each layer, with the cycles both
    from the engine's counter and counted here, from the cycle ``start`` is taken to the one
    the last output word is."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = np.random.default_rng(4)
    streams = Streams(dut, rate=1.0, seed=4)
    for name, shape in LAYERS.items():
        job = random_job(rng, *shape)
        streams.queue_weights(job)
        await streams.begin(job)
        counted = 1                      # the cycle start was taken in
        last_output = 0
        while await streams.cycle():
            counted += 1
            if len(streams.outputs) > last_output:
                last_output, counted_to_output = len(streams.outputs), counted
        words, cycles, busy_cycles = streams.outputs, int(dut.cycles.value), \
            int(dut.compute_cycles.value)
        check(job, words, busy_cycles, name)
        height, width = job.output_size
        report(f"full_rate_{name}", {
            "macs": job.macs, "cycles": cycles, "counted_cycles": counted_to_output,
            "compute_cycles": busy_cycles, "weight_words": len(weight_words(job, COLS)),
            "overlapped_cycles": overlapped_os_cycles(ROWS, COLS, height * width,
                                                      job.reduction + BIAS_WORDS, job.filters),
            "scalesim_cycles": systolic_cycles("os", ROWS, COLS, height * width,
                                               job.reduction, job.filters),
            "predicted_cycles": full_rate_cycles(job, ROWS, COLS),
            "utilization": job.macs / (ROWS * COLS * cycles)})
