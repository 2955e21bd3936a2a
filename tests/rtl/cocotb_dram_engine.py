"""cocotb tests of the layer engine generated from a hardware YAML (DramConvEngine) on Icarus
Verilog. The testbench answers its memory port with ``tests/rtl/timed_memory.py``: the DRAM
model of ``sim.memory`` with the same preset and address mapping.

- full rate: per layer, outputs bit-exact with ``sim.golden`` and the engine's ``cycles`` (and
  the cycles counted here) equal to ``sim.rtl_schedule.predict_cycles``;
- random backpressure on every memory stream: outputs bit-exact;
- a reset in mid-layer, then a layer runs correctly.

Settings from the environment: HARDWARE (the YAML file), ENGINE_LIMITS (JSON: the generated
engine's ``sim.rtl_schedule.EngineLimits``), ENGINE_REPORT (a JSON file the measured figures go
to), ENGINE_LAYERS (the layers to run).
"""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from accel.conv_stream import ConvJob, golden_output, random_job
from accel.dram_image import input_bytes, output_size_bytes, unpack_output, weight_bytes
from sim.golden.ops import conv2d
from sim.golden.quant import requantize
from sim.hardware import load_hardware
from sim.rtl_schedule import EngineLayer, EngineLimits, choose_tiling, predict_cycles
from tests.rtl.timed_memory import TimedMemory

HARDWARE = load_hardware(os.environ["HARDWARE"])
ROWS, COLS = HARDWARE.pe_array.rows, HARDWARE.pe_array.cols
MAX_CHANNELS = HARDWARE.rtl.max_channels
LIMITS = EngineLimits(**json.loads(os.environ["ENGINE_LIMITS"]))
# Page-aligned regions, ENGINE_REGION bytes apart (4 KiB unless set; the 64-channel layers
# need 16 KiB).
REGION = int(os.environ.get("ENGINE_REGION", "4096"))
INPUT, WEIGHTS, OUTPUT = 0, REGION, 2 * REGION
MEMORY_BYTES = 8 * REGION
ADDRESSES = (INPUT, WEIGHTS, OUTPUT)

ALL_LAYERS = {   # height, width, channels, filters, kernel, stride, padding
    "3x3_s1": (16, 16, 8, 8, 3, 1, 1),
    "3x3_s2_pad": (15, 15, 8, 8, 3, 2, 1),
    "1x1": (12, 12, 8, 12, 1, 1, 0),
    "depthwise_3x3": (16, 16, 8, 8, 3, 1, 1),
    "tiled_3x3": (24, 16, 8, 24, 3, 1, 1),   # several bands and filter blocks
    "3x3_c64": (8, 8, 64, 16, 3, 1, 1),      # 64 channels, 16 filters: fills a 4 x 4 array
    "1x1_c64": (16, 16, 64, 16, 1, 1, 0),    # 1x1 with 64 input channels
    "tiled_c64": (9, 6, 64, 8, 3, 1, 1),     # 64 channels: several bands and filter blocks
}
# ENGINE_LAYERS: the names to run, comma-separated (all when unset).
LAYERS = {name: ALL_LAYERS[name]
          for name in os.environ.get("ENGINE_LAYERS", ",".join(ALL_LAYERS)).split(",")}
# ENGINE_BACKPRESSURE_LAYERS: the layers run under backpressure (ENGINE_LAYERS when unset);
# ENGINE_RESET_LAYERS: the layer reset in its middle, then the layers run after the reset.
BACKPRESSURE_LAYERS = os.environ.get("ENGINE_BACKPRESSURE_LAYERS", ",".join(LAYERS)).split(",")
RESET_LAYERS = os.environ.get("ENGINE_RESET_LAYERS", "3x3_s1,3x3_s2_pad,1x1").split(",")


def depthwise_job(rng: np.random.Generator, shape) -> tuple[ConvJob, np.ndarray]:
    """A depthwise 3x3 layer as the engine maps it: a dense conv whose weights are zero off
    the diagonal (filter m reads channel m only); its golden output is ``sim.golden``'s
    grouped convolution (groups = channels)."""
    base = random_job(rng, *shape)
    depthwise = rng.integers(-128, 128, size=(3, 3, 1, shape[2]), dtype=np.int8)
    dense = np.zeros((3, 3, shape[2], shape[2]), dtype=np.int8)
    for channel in range(shape[2]):
        dense[:, :, channel, channel] = depthwise[:, :, 0, channel]
    job = ConvJob(base.x, dense, base.stride, base.padding, base.multiplier, base.shift,
                  base.zero_point)
    acc = conv2d(base.x[None], depthwise, stride=base.stride, padding=base.padding,
                 groups=shape[2])[0]
    return job, requantize(acc, job.multiplier, job.shift, job.zero_point, job.qmin, job.qmax)


def make_job(rng: np.random.Generator, name: str) -> tuple[ConvJob, np.ndarray]:
    if name.startswith("depthwise"):
        return depthwise_job(rng, ALL_LAYERS[name])
    job = random_job(rng, *ALL_LAYERS[name])
    return job, golden_output(job)


def report(key: str, value) -> None:
    path = os.environ["ENGINE_REPORT"]
    figures = json.load(open(path)) if os.path.exists(path) else {}
    figures[key] = value
    with open(path, "w") as handle:
        json.dump(figures, handle, indent=2)


def high(handle) -> bool:
    """A one-bit output is 1. Before a combinational output's first change Icarus may show X
    (its ``always @*`` blocks run on a change only): not 1."""
    return str(handle.value) == "1"


class Port:
    """Answers the engine's memory port, one decision per cycle per stream; ``rate`` is the
    chance of being ready (or of offering a due beat or acknowledgement) in a cycle."""

    def __init__(self, dut, rate: float, seed: int) -> None:
        self.dut, self.rate = dut, rate
        self.random = random.Random(seed)
        self.memory = TimedMemory(HARDWARE, MEMORY_BYTES, COLS)
        self.cycle_count = 0

    def load(self, job: ConvJob) -> None:
        self.memory = TimedMemory(HARDWARE, MEMORY_BYTES, COLS)
        image, weights = input_bytes(job, MAX_CHANNELS), weight_bytes(job, COLS)
        self.memory.image[INPUT:INPUT + len(image)] = image
        self.memory.image[WEIGHTS:WEIGHTS + len(weights)] = weights

    def chance(self) -> bool:
        return self.rate >= 1.0 or self.random.random() < self.rate

    async def cycle(self, start: bool = False) -> bool:
        """One clock cycle; returns whether the engine was busy during it."""
        dut, memory, now = self.dut, self.memory, self.cycle_count
        await FallingEdge(dut.clk)
        beat = memory.read_beat(now)
        offer = beat is not None and self.chance()
        ack = memory.ack(now) and self.chance()
        dut.start.value = int(start)
        dut.read_request__ready.value = int(self.chance())
        dut.write_request__ready.value = int(self.chance())
        dut.write_data__ready.value = int(self.chance())
        dut.read_data__valid.value = int(offer)
        if offer:
            dut.read_data__payload.value = beat
        dut.write_ack__valid.value = int(ack)
        await ReadOnly()
        busy = high(dut.busy)
        if high(dut.read_request__valid) and high(dut.read_request__ready):
            payload = int(dut.read_request__payload.value)
            memory.read_request(now, payload & 0xFFFFFFFF, payload >> 32)
        if offer and high(dut.read_data__ready):
            memory.take_read_beat()
        if high(dut.write_request__valid) and high(dut.write_request__ready):
            payload = int(dut.write_request__payload.value)
            memory.write_request(payload & 0xFFFFFFFF, payload >> 32)
            memory.after_write_request(now)
        if high(dut.write_data__valid) and high(dut.write_data__ready):
            memory.write_beat(now, int(dut.write_data__payload.value))
        if ack and high(dut.write_ack__ready):
            memory.take_ack()
        self.cycle_count += 1
        await RisingEdge(dut.clk)
        return busy

    async def begin(self, job: ConvJob) -> None:
        self.load(job)
        height, width, channels = job.x.shape
        tiling = choose_tiling(HARDWARE, EngineLayer(height, width, channels, job.filters,
                                                     job.kernel, job.stride, job.padding),
                               LIMITS, ADDRESSES)
        height, width, _ = job.x.shape
        dut = self.dut
        for port, value in (("height", height), ("width", width), ("channels", job.channels),
                            ("filters", job.filters), ("kernel", job.kernel),
                            ("stride", job.stride), ("padding", job.padding),
                            ("multiplier", job.multiplier), ("shift", job.shift),
                            ("zero_point", job.zero_point), ("qmin", job.qmin),
                            ("qmax", job.qmax), ("band_rows", tiling.band_rows),
                            ("block_filters", tiling.block_filters), ("input_address", INPUT),
                            ("weight_address", WEIGHTS), ("output_address", OUTPUT)):
            getattr(dut, port).value = value
        self.cycle_count = 0               # cycle 0: the one start is taken in
        await self.cycle(start=True)

    async def run(self, job: ConvJob, max_cycles: int = 400_000) -> tuple[np.ndarray, int, int]:
        """Run ``job`` to its acknowledgement: its output, ``cycles``, cycles counted here."""
        await self.begin(job)
        for _ in range(max_cycles):
            if not await self.cycle():
                break
        else:
            raise AssertionError("the engine did not finish the layer")
        size = output_size_bytes(job, COLS)
        out = unpack_output(bytes(self.memory.image[OUTPUT:OUTPUT + size]), job, COLS)
        return out, int(self.dut.cycles.value), self.cycle_count - 2


async def reset(dut, cycles: int = 2) -> None:
    await FallingEdge(dut.clk)
    dut.rst.value = 1
    for port in ("start", "read_request__ready", "read_data__valid", "write_request__ready",
                 "write_data__ready", "write_ack__valid"):
        getattr(dut, port).value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


def check(out: np.ndarray, expected: np.ndarray, name: str) -> None:
    mismatches = np.argwhere(out != expected)
    assert mismatches.size == 0, f"{name}: {len(mismatches)} outputs differ, first at " \
                                 f"{mismatches[0].tolist()}"


@cocotb.test()
async def layers_at_full_rate(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = np.random.default_rng(5)
    port = Port(dut, 1.0, 5)
    for name in LAYERS:
        job, expected = make_job(rng, name)
        out, cycles, counted = await port.run(job)
        check(out, expected, name)
        layer = EngineLayer(*LAYERS[name])
        tiling = choose_tiling(HARDWARE, layer, LIMITS, ADDRESSES)
        predicted = predict_cycles(HARDWARE, layer, LIMITS, tiling, ADDRESSES)
        report(name, {"macs": job.macs, "cycles": cycles, "counted_cycles": counted,
                      "predicted_cycles": predicted.cycles, "tiles": predicted.tiles,
                      "band_rows": tiling.band_rows, "block_filters": tiling.block_filters,
                      "computed": predicted.computed,
                      "utilization": job.macs / (ROWS * COLS * cycles)})


@cocotb.test()
async def layers_under_memory_backpressure(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = np.random.default_rng(6)
    port = Port(dut, 0.6, 6)
    for name in BACKPRESSURE_LAYERS:
        job, expected = make_job(rng, name)
        out, _, _ = await port.run(job)
        check(out, expected, f"backpressure {name}")


@cocotb.test()
async def reset_in_mid_layer(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = np.random.default_rng(7)
    port = Port(dut, 0.8, 7)
    job, _ = make_job(rng, RESET_LAYERS[0])
    await port.begin(job)
    for _ in range(3000):             # inside the compute phase: weights and outputs moving
        await port.cycle()
    assert high(dut.busy), "reset must fall in the middle of the layer"
    await reset(dut, cycles=3)
    await ReadOnly()
    assert not high(dut.busy) and not high(dut.read_request__valid)
    assert not high(dut.write_request__valid) and not high(dut.write_data__valid)
    await RisingEdge(dut.clk)
    port = Port(dut, 0.8, 8)
    for name in RESET_LAYERS[1:]:
        job, expected = make_job(rng, name)
        out, _, _ = await port.run(job)
        check(out, expected, f"after reset {name}")
