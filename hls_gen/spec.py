"""RTL specs (``configs/rtl/*.yaml``): which component, at which sizes, validated.

Sizes are in the field names' units: ``_bits`` for data widths, pixels for ``max_height`` and
``max_width``, words for ``depth``. A spec names one component; the sections it needs are
required, the others refused, so a typo cannot be silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from sim.config import load_model

Positive = Annotated[StrictInt, Field(gt=0)]
# Limits on what one generated module may hold, so that Amaranth elaborates it and Icarus runs
# it in reasonable time on 2 cores (measured: a 32 x 32 conv engine of 3x3 x 8-channel windows
# elaborates in 18 s; with 7x7 x 64-channel windows, 1.6 Mbit of window registers, 215 s; at
# all three limits below, 24 s).
MAX_PES = 1024
MAX_STORAGE_BITS = 1 << 20
MAX_WINDOW_BITS = 1 << 16  # the conv engine's two banks of k x k x channels windows per row

COMPONENTS = ("mac_pe", "systolic_array", "ping_pong_buffer", "line_buffer", "conv_engine")
# Sections each component takes.
SECTIONS = {
    "mac_pe": {"data"},
    "systolic_array": {"array", "data"},
    "ping_pong_buffer": {"buffers"},
    "line_buffer": {"tile", "kernels"},
    "conv_engine": {"array", "data", "tile", "kernels", "buffers"},
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArraySpec(_Spec):
    """The PE array: ``rows`` x ``cols`` PEs and the operand that stays in each PE."""

    rows: Annotated[StrictInt, Field(gt=0, le=64)]
    cols: Annotated[StrictInt, Field(gt=0, le=64)]
    dataflow: Literal["os", "ws"] = "os"


class DataSpec(_Spec):
    """Data widths in bits. Activations and weights are int8 (the golden model's integer
    path); the accumulator and the requantization multiplier are sizable."""

    activation_bits: Literal[8] = 8
    weight_bits: Literal[8] = 8
    accumulator_bits: Annotated[StrictInt, Field(ge=16, le=64)] = 32
    multiplier_bits: Annotated[StrictInt, Field(ge=1, le=32)] = 16


class TileSpec(_Spec):
    """The largest input tile, in pixels and channels."""

    max_height: Annotated[StrictInt, Field(gt=0, le=4096)]
    max_width: Annotated[StrictInt, Field(gt=0, le=4096)]
    max_channels: Annotated[StrictInt, Field(gt=0, le=64)] = 1


class KernelSpec(_Spec):
    """Kernel support: every square kernel up to ``max_kernel`` and strides up to
    ``max_stride``, chosen per run."""

    max_kernel: Annotated[StrictInt, Field(gt=0, le=7)] = 3
    max_stride: Annotated[StrictInt, Field(gt=0, le=4)] = 2


class BuffersSpec(_Spec):
    """Ping-pong buffer sizes: ``depth`` words of ``word_bits`` per bank, ``banks`` banks.

    For a conv engine ``depth`` is the weight bank (``cols`` int8 lanes per word) and
    ``word_bits`` is implied.
    """

    depth: Annotated[StrictInt, Field(gt=0, le=65536)]
    banks: Annotated[StrictInt, Field(ge=2, le=8)] = 2
    word_bits: Annotated[StrictInt, Field(gt=0, le=1024)] | None = None


class RtlSpec(_Spec):
    """One generated module."""

    component: Literal[COMPONENTS]  # type: ignore[valid-type]
    name: str | None = None
    array: ArraySpec | None = None
    data: DataSpec | None = None
    tile: TileSpec | None = None
    kernels: KernelSpec | None = None
    buffers: BuffersSpec | None = None

    @field_validator("name")
    @classmethod
    def _verilog_identifier(cls, name: str | None) -> str | None:
        if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", name):
            raise ValueError("must be a Verilog identifier: a letter or _, then letters, "
                             "digits or _")
        return name

    @model_validator(mode="after")
    def _sections(self) -> RtlSpec:
        wanted = SECTIONS[self.component]
        for section in ("array", "data", "tile", "kernels", "buffers"):
            given = getattr(self, section) is not None
            # ``data`` and ``kernels`` have defaults (int8 / int32, 3x3 up to stride 2).
            if section in wanted and not given and section not in ("data", "kernels"):
                raise ValueError(f"a {self.component} needs a '{section}' section")
            if given and section not in wanted:
                raise ValueError(f"a {self.component} takes no '{section}' section "
                                 f"(it takes: {', '.join(sorted(wanted))})")
        if self.component == "conv_engine" and self.array.dataflow != "os":  # type: ignore
            raise ValueError("the conv engine maps convolutions output-stationary: "
                             "array.dataflow must be os")
        if self.component == "ping_pong_buffer" and self.buffers.word_bits is None:  # type: ignore
            raise ValueError("a ping_pong_buffer needs buffers.word_bits")
        if self.component == "conv_engine" and self.buffers.word_bits is not None:  # type: ignore
            raise ValueError("buffers.word_bits is implied for a conv engine "
                             "(array.cols int8 weights per word); leave it out")
        if self.array is not None and self.array.rows * self.array.cols > MAX_PES:
            raise ValueError(f"array.rows x array.cols is {self.array.rows * self.array.cols:,} "
                             f"PEs, more than one module may have (allowed: at most "
                             f"{MAX_PES:,})")
        if self.window_bits > MAX_WINDOW_BITS:
            raise ValueError(f"the conv engine's window registers would hold "
                             f"{self.window_bits:,} bits (2 banks x array.rows windows x "
                             f"max_kernel^2 pixels x max_channels activations), more than one "
                             f"module may (allowed: at most {MAX_WINDOW_BITS:,} bits)")
        if self.storage_bits > MAX_STORAGE_BITS:
            raise ValueError(f"the module would hold {self.storage_bits:,} bits of on-chip "
                             f"memory (line buffer and ping-pong banks), more than one module "
                             f"may (allowed: at most {MAX_STORAGE_BITS:,} bits)")
        return self

    @property
    def window_bits(self) -> int:
        """Flip-flop bits of a conv engine's window banks (0 for other components)."""
        if self.component != "conv_engine" or self.array is None or self.tile is None:
            return 0
        kernel = self.kernels_or_default.max_kernel
        return (2 * self.array.rows * kernel * kernel * self.tile.max_channels
                * self.data_or_default.activation_bits)

    @property
    def storage_bits(self) -> int:
        """Bits of the module's memories: the line buffer's ``max_kernel - 1`` rows of
        ``max_width + 2 (max_kernel - 1)`` pixels of ``max_channels`` activations, and the
        ping-pong buffer's ``banks x depth`` words."""
        bits = 0
        if self.tile is not None:
            kernel = self.kernels_or_default.max_kernel
            activation = self.data_or_default.activation_bits
            bits += ((kernel - 1) * (self.tile.max_width + 2 * (kernel - 1))
                     * self.tile.max_channels * activation)
        if self.buffers is not None:
            word = self.buffers.word_bits
            if word is None and self.array is not None:
                word = self.array.cols * self.data_or_default.weight_bits
            bits += self.buffers.banks * self.buffers.depth * (word or 0)
        return bits

    @property
    def data_or_default(self) -> DataSpec:
        return self.data or DataSpec()

    @property
    def kernels_or_default(self) -> KernelSpec:
        return self.kernels or KernelSpec()


def load_rtl_spec(path: str | Path) -> RtlSpec:
    """Read and validate an RTL spec; problems raise ``sim.config.ConfigError`` (one line)."""
    return load_model(path, RtlSpec)
