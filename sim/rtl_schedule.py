"""The schedule the generated DRAM conv engine (``accel.dram_engine``) runs for one layer, and
the cycles it takes, predicted from the simulator's own models: the DRAM model
(:class:`sim.memory.dram.DramModel`) for every request, the ``os-overlap`` fold model
(:func:`sim.mapping.overlapped_os_cycles`) for the PE array, and the engine's documented
register stages for the rest. Nothing here reads the RTL or its counters.

The engine runs a layer as one tile in three phases (``accel.dram_engine``): it loads the whole
input, then computes while the weights stream in, then stores all the outputs. Requests go out
on a memory port of ``cols`` bytes per beat; the memory answers a read with its beats from the
cycle the DRAM model's last data beat of the request is in (never earlier than the cycle after
the request), one beat per cycle, and acknowledges a write when the DRAM model has written
it, the request's last data beat being its arrival. Cycles are accelerator cycles; DRAM cycles
are converted exactly (the clock ratio is a fraction), rounding up.

Register stages (cycle 0 is the one ``start`` is taken in):

- the descriptor is latched at the end of cycle 0, the sizes derived from it at the end of
  cycle 1, so the input request is on the port in cycle 2;
- the weight request and the conv engine's ``start`` go out in the cycle after the input's
  last beat;
- the conv engine (:func:`engine_cycles`) ends with its last output word; the engine sees it
  idle the cycle after and sends the write request the cycle after that, while its tile-memory
  reader delivers the first output word 3 cycles after it is started (address, synchronous
  read, queue);
- the acknowledgement is taken no earlier than 2 cycles after the last output beat (the
  sender counts it, then waits for the acknowledgement).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil

from sim.hardware import HardwareSpec
from sim.mapping import overlapped_os_cycles
from sim.memory.dram import DramModel
from sim.schedule import Transfer

# Conv engine stages beyond the fold model: the weight bank is readable the cycle after its
# last word, the operand register before the array, the result register, the output register.
ENGINE_REGISTERS = 4
SIZE_CYCLES = 2            # descriptor latch + derived sizes, before the input request
STORE_REQUEST_CYCLES = 2   # from the last output word to the write request
READER_LATENCY = 3         # tile-memory reader: start to its first word valid
ACK_AFTER_LAST_BEAT = 2


@dataclass(frozen=True)
class EngineLayer:
    """One conv layer as the engine runs it (int8; sizes in pixels, channels, filters)."""

    height: int
    width: int
    channels: int
    filters: int
    kernel: int
    stride: int
    padding: int

    @property
    def output_size(self) -> tuple[int, int]:
        return ((self.height + 2 * self.padding - self.kernel) // self.stride + 1,
                (self.width + 2 * self.padding - self.kernel) // self.stride + 1)

    @property
    def reduction(self) -> int:
        return self.kernel * self.kernel * self.channels


def engine_cycles(layer: EngineLayer, rows: int, cols: int, weight_delay: int = 0) -> int:
    """Cycles of the conv engine from ``start`` (cycle 0) to its last output word, when its
    first weight word comes ``weight_delay`` cycles after ``start`` and one per cycle after it,
    outputs are always taken, and the line buffer has its first group of windows before the
    last weight word (true when the weight words outnumber the padded positions up to the first
    group's last window).

    Weight words (ceil(M / cols) x K, one per cycle), then the ``os-overlap`` cycles, then the
    engine's ``ENGINE_REGISTERS`` stages and one cycle for each further word of the last pixel
    group (G = P - rows * (ceil(P / rows) - 1) words).
    """
    height, width = layer.output_size
    pixels = height * width
    last_group = pixels - rows * (ceil(pixels / rows) - 1)
    weight_words = ceil(layer.filters / cols) * layer.reduction
    return (weight_delay + weight_words + ENGINE_REGISTERS + (last_group - 1)
            + overlapped_os_cycles(rows, cols, pixels, layer.reduction, layer.filters))


@dataclass(frozen=True)
class EngineSchedule:
    """The requests of one layer (bytes in DRAM, the engine's layout) and what they take."""

    input_load: Transfer
    weight_load: Transfer
    output_store: Transfer
    beat_bytes: int

    def beats(self, transfer: Transfer) -> int:
        return transfer.size_bytes // self.beat_bytes


def layer_schedule(layer: EngineLayer, cols: int, max_channels: int, input_address: int,
                   weight_address: int, output_address: int) -> EngineSchedule:
    """The three requests: the input with channels padded to ``max_channels``, the weights
    (ceil(M / cols) x K words of ``cols`` bytes), the outputs with filters padded to a multiple
    of ``cols``."""
    folds = ceil(layer.filters / cols)
    out_height, out_width = layer.output_size
    return EngineSchedule(
        Transfer("ifmap", input_address, layer.height * layer.width * max_channels,
                 tensor="input"),
        Transfer("weight", weight_address, folds * layer.reduction * cols),
        Transfer("ofmap", output_address, out_height * out_width * folds * cols, write=True,
                 tensor="output"),
        beat_bytes=cols)


@dataclass(frozen=True)
class Prediction:
    """When each phase ends (accelerator cycles from ``start``); ``cycles`` is the total."""

    input_loaded: int
    computed: int
    cycles: int


class _Clock:
    """Exact conversion between accelerator and DRAM cycles, rounding up."""

    def __init__(self, accelerator_hz: float, dram_hz: float) -> None:
        ratio = Fraction(str(dram_hz)) / Fraction(str(accelerator_hz))
        self.numerator, self.denominator = ratio.numerator, ratio.denominator

    def to_dram(self, cycle: int) -> int:
        return -(-cycle * self.numerator // self.denominator)

    def to_accelerator(self, dram_cycle: int) -> int:
        return -(-dram_cycle * self.denominator // self.numerator)


def predict_cycles(hardware: HardwareSpec, layer: EngineLayer, schedule: EngineSchedule
                   ) -> Prediction:
    """The engine's ``cycles`` for ``layer`` on ``hardware`` with the memory always ready."""
    pe = hardware.pe_array
    assert pe.rows is not None and pe.cols is not None
    dram = DramModel(hardware.dram)
    clock = _Clock(hardware.clock_hz, hardware.dram.clock_hz)

    def data_from(transfer: Transfer, arrival: int) -> int:
        result = dram.access(transfer.address, transfer.size_bytes, transfer.write,
                             clock.to_dram(arrival))
        return max(arrival + 1, clock.to_accelerator(result.end_cycle))

    input_request = SIZE_CYCLES
    input_first = data_from(schedule.input_load, input_request)
    input_last = input_first + schedule.beats(schedule.input_load) - 1
    engine_start = input_last + 1
    weights_first = data_from(schedule.weight_load, engine_start)
    computed = engine_start + engine_cycles(layer, pe.rows, pe.cols,
                                            weight_delay=weights_first - engine_start)
    store_request = computed + STORE_REQUEST_CYCLES
    last_beat = store_request + READER_LATENCY + schedule.beats(schedule.output_store) - 1
    acknowledged = data_from(schedule.output_store, last_beat)
    return Prediction(input_last, computed, max(acknowledged, last_beat + ACK_AFTER_LAST_BEAT))
