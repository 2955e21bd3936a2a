"""Hardware spec: clock, PE array, on-chip buffers and DRAM, validated from YAML.

Units are in the field names: ``_hz``, ``_bytes``, ``_bits``, ``_pj``, ``_mw``; DRAM timing is in
DRAM clock cycles (tCK), the convention of JEDEC datasheets and DRAMSys memspecs. A preset file
carries a comment with the source of every constant (``configs/hardware/*.yaml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from sim import limits as lim
from sim.config import load_model

# Every number has a range the model computes in reasonable time (sim.limits).
ArrayEdge = lim.bounded_int(1, lim.MAX_ARRAY_EDGE)
Bytes = lim.bounded_int(1, lim.MAX_MEMORY_BYTES)
Banks = lim.bounded_int(1, lim.MAX_BANKS)
WordBits = lim.bounded_int(1, lim.MAX_WORD_BITS)
Cycles = lim.bounded_int(1, lim.MAX_TIMING_CYCLES)
ExtraCycles = lim.bounded_int(0, lim.MAX_TIMING_CYCLES)
EnergyPj = lim.bounded_float(0, lim.MAX_ENERGY_PJ)
PowerMw = lim.bounded_float(0, lim.MAX_POWER_MW)
ClockHz = lim.bounded_float(lim.MIN_CLOCK_HZ, lim.MAX_CLOCK_HZ)
DramChannels = lim.bounded_int(1, lim.MAX_DRAM_CHANNELS)
DataRateMtps = lim.bounded_float(0, lim.MAX_DATA_RATE_MTPS, low_open=True)
BurstLength = lim.bounded_int(1, lim.MAX_BURST_LENGTH)
PageBytes = lim.bounded_int(1, lim.MAX_PAGE_BYTES)
# RTL-only fields (``data`` and ``rtl``): the same limits as the component specs of
# ``configs/rtl`` (hls_gen.spec), where generation time bounds them.
AccumulatorBits = lim.bounded_int(16, 64)
MultiplierBits = lim.bounded_int(1, 32)
TileEdge = lim.bounded_int(1, 4096)
TileChannels = lim.bounded_int(1, 64)
KernelEdge = lim.bounded_int(1, 7)
Stride = lim.bounded_int(1, 4)
AccumulatorPixels = lim.bounded_int(1, 65536)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeArraySpec(_Spec):
    """A systolic array (``rows`` x ``cols`` with a dataflow) or a vector engine.

    A vector engine (DianNao's NFU) multiplies ``vector_inputs`` input channels by
    ``vector_outputs`` output channels each cycle.
    """

    kind: Literal["systolic", "vector"]
    rows: ArrayEdge | None = None
    cols: ArrayEdge | None = None
    # os-overlap: output-stationary with each fold's drain overlapping the next fold's fill
    # (the generated RTL engine; sim.mapping.overlapped_os_cycles)
    dataflow: Literal["os", "ws", "is", "os-overlap"] | None = None
    vector_inputs: ArrayEdge | None = None
    vector_outputs: ArrayEdge | None = None

    @model_validator(mode="after")
    def _complete(self) -> PeArraySpec:
        if self.kind == "systolic" and None in (self.rows, self.cols, self.dataflow):
            raise ValueError("a systolic array needs rows, cols and dataflow (os, ws, is or "
                             "os-overlap)")
        if self.kind == "vector" and None in (self.vector_inputs, self.vector_outputs):
            raise ValueError("a vector engine needs vector_inputs and vector_outputs")
        return self

    @property
    def macs_per_cycle(self) -> int:
        if self.kind == "systolic":
            return self.rows * self.cols  # type: ignore[operator]
        return self.vector_inputs * self.vector_outputs  # type: ignore[operator]


class BufferSpec(_Spec):
    """One on-chip SRAM buffer. Energy is per access of one ``word_bits`` word.

    Each of the ``banks`` serves one ``word_bits`` word per accelerator cycle, so the buffer moves
    at most ``banks * word_bits / 8`` bytes per cycle, reads and writes together (DRAM fills and
    drains included). ``double_buffered`` splits what the tiles use into two halves: one is
    filled or drained while the PE array works on the other.
    """

    size_bytes: Bytes
    banks: Banks = 1
    word_bits: WordBits = 64
    double_buffered: StrictBool = True
    read_pj: EnergyPj
    write_pj: EnergyPj

    @property
    def word_bytes(self) -> int:
        return max(1, self.word_bits // 8)

    @property
    def bytes_per_cycle(self) -> int:
        """Bytes the buffer serves per accelerator cycle, all banks together."""
        return self.banks * self.word_bytes

    @model_validator(mode="after")
    def _a_word_per_bank(self) -> BufferSpec:
        # A bank that cannot hold one word cannot serve one a cycle: the buffer's bandwidth
        # (banks x word) would exceed what it holds.
        if self.size_bytes < self.bytes_per_cycle:
            raise ValueError(
                f"{self.size_bytes:,} B cannot hold a {self.word_bits}-bit word in each of "
                f"{self.banks} banks (allowed: size_bytes >= banks x word_bits / 8 = "
                f"{self.bytes_per_cycle:,})")
        return self


class BuffersSpec(_Spec):
    """Either one ``global`` buffer shared by all operands, or one per operand, and optionally
    an ``fmap`` buffer that keeps whole feature maps between layers.

    Every byte a schedule keeps on chip is in one of these. Feature maps kept between layers
    (``buffered``, ``full``) live in ``fmap`` when it is declared; otherwise they are carved out
    of the ``global`` buffer and the tiles get what is left; with split ifmap/weight/ofmap
    buffers and no ``fmap`` no feature map stays on chip between layers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    global_: BufferSpec | None = Field(default=None, alias="global")
    ifmap: BufferSpec | None = None
    weight: BufferSpec | None = None
    ofmap: BufferSpec | None = None
    fmap: BufferSpec | None = None

    @model_validator(mode="after")
    def _one_layout(self) -> BuffersSpec:
        split = (self.ifmap, self.weight, self.ofmap)
        if self.global_ is not None and any(split):
            raise ValueError("give either a global buffer or ifmap/weight/ofmap buffers, not both")
        if self.global_ is None and not all(split):
            raise ValueError("without a global buffer, ifmap, weight and ofmap buffers are needed")
        return self

    @property
    def shared(self) -> bool:
        return self.global_ is not None

    def for_operand(self, operand: str) -> BufferSpec:
        return self.declared()[self.name_for(operand)]

    def name_for(self, operand: str) -> str:
        """The name of the buffer that holds ``operand`` tiles (ifmap, weight or ofmap)."""
        return "global" if self.global_ is not None else operand

    @property
    def resident_name(self) -> str | None:
        """The buffer that holds feature maps kept between layers, or None when there is none."""
        if self.fmap is not None:
            return "fmap"
        return "global" if self.global_ is not None else None

    def declared(self) -> dict[str, BufferSpec]:
        """Every declared buffer by name: ``global`` or ``ifmap``/``weight``/``ofmap``, and
        ``fmap`` when present."""
        buffers = ({"global": self.global_} if self.global_ is not None else
                   {"ifmap": self.ifmap, "weight": self.weight, "ofmap": self.ofmap})
        if self.fmap is not None:
            buffers["fmap"] = self.fmap
        return buffers  # type: ignore[return-value]


class DramTimingSpec(_Spec):
    """DRAM timing in DRAM clock cycles (tCK)."""

    rcd: Cycles  # ACT to READ/WRITE
    rp: Cycles  # PRE to ACT
    ras: Cycles  # ACT to PRE
    rl: Cycles  # READ to first data
    wl: Cycles  # WRITE to first data
    ccd: Cycles  # column command to column command (= burst length / 2 on DDR)
    rrd: Cycles  # ACT to ACT, different banks
    faw: Cycles  # window for four ACTs
    refi: Cycles  # refresh interval (per bank, staggered)
    rfc: Cycles  # refresh cycle time of one bank
    wtr: ExtraCycles = 0  # write data end to READ
    rtw: ExtraCycles = 0  # READ to WRITE turnaround beyond RL - WL

    @model_validator(mode="after")
    def _refresh_leaves_time(self) -> DramTimingSpec:
        if self.refi <= self.rfc:
            raise ValueError(
                f"refi {self.refi} is not above rfc {self.rfc}: a bank busy refreshing for rfc "
                "cycles every refi cycles is never free (allowed: refi > rfc)")
        return self


class DramEnergySpec(_Spec):
    read_pj_per_bit: EnergyPj
    write_pj_per_bit: EnergyPj
    activate_pj: EnergyPj  # one activate + precharge pair


class DramSpec(_Spec):
    """Off-chip DRAM: ``channels`` independent channels sharing ``bus_bits`` equally.

    ``data_rate_mtps`` is transfers per second per pin in millions (DDR: twice the clock).
    Addresses are interleaved across channels every ``interleave_bytes``; inside a channel the
    mapping is row:bank:column (a page fills, then the next bank, then the next row).
    """

    type: str
    capacity_bytes: Bytes
    channels: DramChannels
    bus_bits: WordBits
    data_rate_mtps: DataRateMtps
    burst_length: BurstLength
    banks: Banks
    page_bytes: PageBytes
    interleave_bytes: PageBytes
    timing: DramTimingSpec
    energy: DramEnergySpec

    @property
    def clock_hz(self) -> float:
        """DRAM clock (tCK = 1 / clock_hz); two transfers per clock."""
        return self.data_rate_mtps * 1e6 / 2

    @property
    def channel_bits(self) -> int:
        return self.bus_bits // self.channels

    @property
    def burst_bytes(self) -> int:
        return self.channel_bits * self.burst_length // 8

    @property
    def peak_bytes_per_s(self) -> float:
        return self.bus_bits / 8 * self.data_rate_mtps * 1e6

    @model_validator(mode="after")
    def _consistent(self) -> DramSpec:
        if self.bus_bits % self.channels:
            raise ValueError(
                f"bus_bits {self.bus_bits} is not divisible by {self.channels} channels"
            )
        if self.burst_bytes < 1:
            raise ValueError(
                f"a burst of {self.channel_bits}-bit channels x burst_length "
                f"{self.burst_length} is {self.channel_bits * self.burst_length} bits, less "
                "than a byte; allowed: channel_bits x burst_length >= 8"
            )
        if self.interleave_bytes % self.burst_bytes or self.page_bytes % self.interleave_bytes:
            raise ValueError(
                f"interleave_bytes must be a multiple of the burst ({self.burst_bytes} B) and "
                f"divide page_bytes ({self.page_bytes} B)"
            )
        if self.timing.ccd * 2 < self.burst_length:
            raise ValueError("ccd must be at least burst_length / 2 (one burst on the data bus)")
        return self


class EnergySpec(_Spec):
    """Energy per operation (pJ) and static power (mW)."""

    mac_pj: dict[Literal["int8", "int16", "fp16", "fp32"], EnergyPj]
    static_mw: PowerMw = 0.0


class DataWidthsSpec(_Spec):
    """Data widths in bits of the generated RTL (``edgeaccel rtl generate``). Activations and
    weights are int8, the golden model's integer path; the accumulator and the requantization
    multiplier are sizable. The simulator takes its data type from the run's options instead."""

    activation_bits: Literal[8] = 8
    weight_bits: Literal[8] = 8
    accumulator_bits: AccumulatorBits = 32
    multiplier_bits: MultiplierBits = 16


class RtlLimitsSpec(_Spec):
    """What one run of the generated engine may ask: the largest input tile (pixels, padding
    included, and channels) and every square kernel up to ``max_kernel`` with strides up to
    ``max_stride``. RTL only: the simulator tiles layers from the buffer sizes."""

    max_height: TileEdge
    max_width: TileEdge
    max_channels: TileChannels
    max_kernel: KernelEdge = 3
    max_stride: Stride = 2
    # Weight-stationary engines only: output pixels of the accumulator memory (one word of
    # ``cols`` accumulators per pixel, in the ofmap buffer) that sums a band's reduction folds.
    accumulator_pixels: AccumulatorPixels | None = None


class HardwareSpec(_Spec):
    """The accelerator: the simulator reads every field but ``data`` and ``rtl``, which only
    ``edgeaccel rtl generate`` reads (they are optional and left out of the simulation config,
    so a preset without them simulates exactly as before)."""

    name: str
    clock_hz: ClockHz
    pe_array: PeArraySpec
    buffers: BuffersSpec
    dram: DramSpec
    energy: EnergySpec
    data: DataWidthsSpec = Field(default_factory=DataWidthsSpec, exclude=True)
    rtl: RtlLimitsSpec | None = Field(default=None, exclude=True)


def load_hardware(path: str | Path) -> HardwareSpec:
    """Load and validate a hardware YAML file (errors name file, line and field)."""
    return load_model(path, HardwareSpec)
