"""Data types of tensors on the accelerator and their sizes; never hard-code bytes per element."""

from __future__ import annotations

from enum import StrEnum


class DType(StrEnum):
    INT8 = "int8"
    INT16 = "int16"
    FP16 = "fp16"
    FP32 = "fp32"

    @property
    def bits(self) -> int:
        return _BITS[self]

    @property
    def bytes(self) -> int:
        """Bytes per element."""
        return self.bits // 8

    @property
    def accumulator_bits(self) -> int:
        """Width of the MAC accumulator: int32 for integer types, the type itself for floats."""
        return 32 if self in (DType.INT8, DType.INT16) else self.bits


_BITS = {DType.INT8: 8, DType.INT16: 16, DType.FP16: 16, DType.FP32: 32}
