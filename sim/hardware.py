"""Hardware spec: clock, PE array, on-chip buffers and DRAM, validated from YAML.

Units are in the field names: ``_hz``, ``_bytes``, ``_bits``, ``_pj``, ``_mw``; DRAM timing is in
DRAM clock cycles (tCK), the convention of JEDEC datasheets and DRAMSys memspecs. A preset file
carries a comment with the source of every constant (``configs/hardware/*.yaml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from sim.config import load_model

Positive = Annotated[StrictInt, Field(gt=0)]
NonNegative = Annotated[StrictInt, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeArraySpec(_Spec):
    """A systolic array (``rows`` x ``cols`` with a dataflow) or a vector engine.

    A vector engine (DianNao's NFU) multiplies ``vector_inputs`` input channels by
    ``vector_outputs`` output channels each cycle.
    """

    kind: Literal["systolic", "vector"]
    rows: Positive | None = None
    cols: Positive | None = None
    dataflow: Literal["os", "ws", "is"] | None = None
    vector_inputs: Positive | None = None
    vector_outputs: Positive | None = None

    @model_validator(mode="after")
    def _complete(self) -> PeArraySpec:
        if self.kind == "systolic" and None in (self.rows, self.cols, self.dataflow):
            raise ValueError("a systolic array needs rows, cols and dataflow (os, ws or is)")
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

    size_bytes: Positive
    banks: Positive = 1
    word_bits: Positive = 64
    double_buffered: StrictBool = True
    read_pj: NonNegativeFloat
    write_pj: NonNegativeFloat

    @property
    def word_bytes(self) -> int:
        return max(1, self.word_bits // 8)

    @property
    def bytes_per_cycle(self) -> int:
        """Bytes the buffer serves per accelerator cycle, all banks together."""
        return self.banks * self.word_bytes


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

    rcd: Positive  # ACT to READ/WRITE
    rp: Positive  # PRE to ACT
    ras: Positive  # ACT to PRE
    rl: Positive  # READ to first data
    wl: Positive  # WRITE to first data
    ccd: Positive  # column command to column command (= burst length / 2 on DDR)
    rrd: Positive  # ACT to ACT, different banks
    faw: Positive  # window for four ACTs
    refi: Positive  # refresh interval (per bank, staggered)
    rfc: Positive  # refresh cycle time of one bank
    wtr: NonNegative = 0  # write data end to READ
    rtw: NonNegative = 0  # READ to WRITE turnaround beyond RL - WL


class DramEnergySpec(_Spec):
    read_pj_per_bit: NonNegativeFloat
    write_pj_per_bit: NonNegativeFloat
    activate_pj: NonNegativeFloat  # one activate + precharge pair


class DramSpec(_Spec):
    """Off-chip DRAM: ``channels`` independent channels sharing ``bus_bits`` equally.

    ``data_rate_mtps`` is transfers per second per pin in millions (DDR: twice the clock).
    Addresses are interleaved across channels every ``interleave_bytes``; inside a channel the
    mapping is row:bank:column (a page fills, then the next bank, then the next row).
    """

    type: str
    capacity_bytes: Positive
    channels: Positive
    bus_bits: Positive
    data_rate_mtps: PositiveFloat
    burst_length: Positive
    banks: Positive
    page_bytes: Positive
    interleave_bytes: Positive
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

    mac_pj: dict[Literal["int8", "int16", "fp16", "fp32"], NonNegativeFloat]
    static_mw: NonNegativeFloat = 0.0


class HardwareSpec(_Spec):
    name: str
    clock_hz: PositiveFloat
    pe_array: PeArraySpec
    buffers: BuffersSpec
    dram: DramSpec
    energy: EnergySpec


def load_hardware(path: str | Path) -> HardwareSpec:
    """Load and validate a hardware YAML file (errors name file, line and field)."""
    return load_model(path, HardwareSpec)
