"""Does a set of operand tiles fit the on-chip buffers?

A shared (global) buffer holds ifmap, weight and ofmap tiles together; per-operand buffers
each hold their own. A double-buffered buffer gives each tile half its size (the other half is
being filled or drained while the PE array works).
"""

from __future__ import annotations

from sim.hardware import HardwareSpec


def usable_bytes(hardware: HardwareSpec, operand: str) -> int:
    buffer = hardware.buffers.for_operand(operand)
    return buffer.size_bytes // 2 if buffer.double_buffered else buffer.size_bytes


def fits(hardware: HardwareSpec, ifmap_bytes: int, weight_bytes: int, ofmap_bytes: int) -> bool:
    """True when the three tiles fit at once (in one half of each double buffer)."""
    if hardware.buffers.shared:
        return ifmap_bytes + weight_bytes + ofmap_bytes <= usable_bytes(hardware, "ifmap")
    return (ifmap_bytes <= usable_bytes(hardware, "ifmap")
            and weight_bytes <= usable_bytes(hardware, "weight")
            and ofmap_bytes <= usable_bytes(hardware, "ofmap"))
