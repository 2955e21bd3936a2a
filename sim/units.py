"""Byte sizes as users write them: KB/MB are powers of 1000, KiB/MiB powers of 1024."""

from __future__ import annotations

import re
from fractions import Fraction

from sim.limits import MAX_MEMORY_BYTES

_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}


def parse_bytes(text: str) -> int:
    """'256KB' -> 256000, '256KiB' -> 262144, '1.5MB' -> 1500000, '4096' -> 4096."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"expected a size such as 256KB, 256KiB or 262144, got {text[:40]!r} "
            "(units: B, KB, MB, GB, KiB, MiB, GiB)"
        )
    value = Fraction(match.group(1)) * _UNITS[unit]  # exact: no float rounding or overflow
    if value.denominator != 1 or not 0 < value <= MAX_MEMORY_BYTES:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"expected a whole number of bytes, got {shown!r} "
                         f"(allowed: 1..{MAX_MEMORY_BYTES})")
    return int(value)


def kb_kib(size_bytes: int) -> str:
    """'1,404,928 B (1,404.9 KB, 1,372.0 KiB)': both units, as papers disagree on which they use."""
    return f"{size_bytes:,} B ({size_bytes / 1000:,.1f} KB, {size_bytes / 1024:,.1f} KiB)"
