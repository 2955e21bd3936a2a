"""argparse types for every number a user gives on the command line, with its range.

The ranges are :mod:`sim.limits`; an error reads ``expected a tile edge in pixels, got 0
(allowed: 1..4096)``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from sim import limits as lim
from sim.units import parse_bytes


def int_in(low: int, high: int, meaning: str) -> Callable[[str], int]:
    """An argparse type: an integer in ``low..high``, with ``meaning`` and the range in errors."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {meaning}, got {text!r} (allowed: {lim.int_range(low, high)})"
            ) from None
        allowed = lim.check_int(value, low, high)
        if allowed is not None:
            raise argparse.ArgumentTypeError(f"expected {meaning}, got {value} "
                                             f"(allowed: {allowed})")
        return value
    return parse


def float_in(low: float, high: float, meaning: str) -> Callable[[str], float]:
    """An argparse type: a finite number in ``(low, high]``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        allowed = lim.check_float(value, low, high, low_open=True)
        if allowed is not None:
            raise argparse.ArgumentTypeError(f"expected {meaning}, got {text!r} "
                                             f"(allowed: {allowed})")
        return value
    return parse


def byte_size(text: str) -> int:
    """A byte size such as 256KB or 256KiB (sim.units), at most MAX_MEMORY_BYTES."""
    try:
        return parse_bytes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
