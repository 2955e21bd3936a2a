"""The range of every number a user can give, and the pydantic types that enforce it.

Each limit is what the model computes in reasonable time and memory (seconds, not hours; a few
hundred MB, not the machine's RAM). A value outside its range is refused with the range stated:
``got 0 (allowed: 1..4096)``. Schemas build their fields from :func:`bounded_int` and
:func:`bounded_float`; the CLI's argument types and the importers use :func:`check_int` and
:func:`check_float` with the same constants.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictFloat, StrictInt
from pydantic_core import PydanticCustomError

# Workloads
MAX_RESOLUTION = 4096  # input height/width (px)
MAX_CHANNELS = 65536  # channels, filters, groups
MAX_FEATURES = 1_048_576  # FC outputs and classes
MAX_WINDOW = 4096  # kernel, stride, dilation, padding (px)
MAX_MULTIPLIER = 64  # depthwise channel multiplier
MAX_WIDTH_MULT = 16.0  # MobileNetV2 width multiplier
MAX_TENSOR_ELEMENTS = 2**30  # one feature map or weight tensor (SCALE-Sim's 4K UNet has 2^28.7)
MAX_NETWORK_MACS = 10**12  # a whole network (MACs per inference)
MAX_LAYERS = 10_000
MAX_PATCHES = 1024  # patches per side, tunnels  # layers in one network or topology

# Techniques and sweeps
MAX_TILE = 4096  # tile edge (output px)
MAX_BUFFER_CHANNELS = MAX_CHANNELS
DEFAULT_MAX_POINTS = 1000  # sweep points run without --max-points

# Hardware
MAX_ARRAY_EDGE = 4096  # PE array rows/cols, vector engine inputs/outputs
MAX_MEMORY_BYTES = 2**40  # one buffer, a DRAM capacity, a byte budget
MAX_BANKS = 1024  # SRAM or DRAM banks
MAX_WORD_BITS = 4096  # buffer word width, DRAM bus width (bits)
MAX_DRAM_CHANNELS = 64
MAX_BURST_LENGTH = 256
MAX_PAGE_BYTES = 2**20
MAX_TIMING_CYCLES = 2**24  # any DRAM timing (tCK)
MIN_CLOCK_HZ, MAX_CLOCK_HZ = 1e3, 1e12
MAX_DATA_RATE_MTPS = 1e6
MAX_ENERGY_PJ = 1e9  # energy of one operation, access or bit (pJ)
MAX_POWER_MW = 1e9  # static power (mW)


_YAML12_NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def int_range(low: int, high: int) -> str:
    """The ``allowed`` text of an integer range: ``1..4096``."""
    return f"{low}..{high}"


def float_range(low: float, high: float, low_open: bool = False) -> str:
    """The ``allowed`` text of a finite number range: ``> 0 and <= 1e+09``."""
    start = f"> {_number(low)}" if low_open else f">= {_number(low)}"
    return f"{start} and <= {_number(high)}, finite"


def out_of_range(value: Any, allowed: str) -> PydanticCustomError:
    """The pydantic error that :func:`sim.config.validation_error` prints with ``allowed``."""
    return PydanticCustomError("out_of_range", "got {value}", {"value": repr(value),
                                                               "allowed": allowed})


def bounded_int(low: int, high: int) -> Any:
    """A strict integer type (no bools, floats or strings) in ``low..high``."""
    allowed = int_range(low, high)

    def check(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise out_of_range(value, f"an integer {allowed}")
        if not low <= value <= high:
            raise out_of_range(value, allowed)
        return value
    return Annotated[StrictInt, BeforeValidator(check)]


def bounded_int_or(word: str, low: int, high: int) -> Any:
    """``word`` (e.g. ``auto``) or a strict integer in ``low..high``."""
    allowed = f"{word} or an integer {int_range(low, high)}"

    def check(value: Any) -> Any:
        if value == word:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            raise out_of_range(value, allowed)
        if not low <= value <= high:
            raise out_of_range(value, allowed)
        return value
    return Annotated[Any, BeforeValidator(check)]


def bounded_float(low: float, high: float, low_open: bool = False) -> Any:
    """A finite number (int or float, no bools) in ``low..high``; ``low_open`` excludes ``low``.

    A string is accepted only when it is a YAML 1.2 number (``921.6e6``), which PyYAML, a YAML
    1.1 reader, leaves as a string.
    """
    allowed = float_range(low, high, low_open)

    def check(value: Any) -> Any:
        if isinstance(value, str) and _YAML12_NUMBER.fullmatch(value.strip()):
            value = float(value)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise out_of_range(value, f"a number {allowed}")
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            raise out_of_range(value, allowed)
        return float(value)
    return Annotated[StrictFloat, BeforeValidator(check)]


def check_int(value: int, low: int, high: int) -> str | None:
    """None when ``low <= value <= high``, else what is allowed (for argparse types)."""
    return None if low <= value <= high else int_range(low, high)


def check_float(value: float, low: float, high: float, low_open: bool = False) -> str | None:
    """None when ``value`` is finite and within range, else what is allowed."""
    below = value <= low if low_open else value < low
    if math.isfinite(value) and not below and value <= high:
        return None
    return float_range(low, high, low_open)


def network_size_problem(infos: Any) -> tuple[int, str, str] | None:
    """The first layer too large to model, as (index, what is wrong, allowed), or None.

    ``infos`` are a network's :class:`sim.workload.network.LayerInfo` records: each output
    tensor and each layer's parameters count against :data:`MAX_TENSOR_ELEMENTS`, the MACs up
    to a layer against :data:`MAX_NETWORK_MACS`.
    """
    macs = 0
    for info in infos:
        shape = info.output_shape
        elements = shape.height * shape.width * shape.channels
        if elements > MAX_TENSOR_ELEMENTS:
            return (info.index, f"output of {elements:,} elements is too large",
                    f"at most {MAX_TENSOR_ELEMENTS:,} elements per tensor")
        if info.params > MAX_TENSOR_ELEMENTS:
            return (info.index, f"{info.params:,} parameters are too many",
                    f"at most {MAX_TENSOR_ELEMENTS:,} per layer")
        macs += info.macs
        if macs > MAX_NETWORK_MACS:
            return (info.index, f"the network reaches {macs:,} MACs at this layer",
                    f"at most {MAX_NETWORK_MACS:,} MACs per inference")
    return None
