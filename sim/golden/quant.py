"""Integer quantization helpers that match fixed-point hardware bit for bit.

An int8 layer accumulates int8 x int8 products in a 32-bit accumulator, then requantizes the
int32 sum to int8 with an integer multiply, a rounding right shift, a zero-point add and a clip:

    out = clip(((acc * multiplier + 2**(shift - 1)) >> shift) + zero_point, qmin, qmax)

``>>`` is an arithmetic shift, so a value exactly halfway between two integers rounds up, toward
+inf (-2.5 -> -2, 2.5 -> 3). The real scale the pair (multiplier, shift) stands for is
``multiplier / 2**shift``; :func:`quantize_multiplier` picks the pair for a given scale.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN = -128
INT8_MAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
MULTIPLIER_LIMIT = 2**31  # multipliers are unsigned values below this (31 bits)
MAX_SHIFT = 62  # keeps acc * multiplier + rounding term inside int64


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _integer_array(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, not {x.dtype}")
    return x


def saturate_int8(x: np.ndarray) -> np.ndarray:
    """Clip an integer array to [-128, 127] and return it as int8 (same shape)."""
    x = _integer_array(x, "saturate_int8 input")
    return np.clip(x, INT8_MIN, INT8_MAX).astype(np.int8)


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Wrap an integer array (typically int64) to int32 in two's complement.

    Keeps the low 32 bits of each value, as a 32-bit hardware accumulator does on overflow:
    2**31 becomes -2**31, -2**31 - 1 becomes 2**31 - 1. Returns int32, same shape.
    """
    x = _integer_array(x, "wrap_int32 input").astype(np.int64)
    low_bits = (x - INT32_MIN) & (2**32 - 1)
    return (low_bits + INT32_MIN).astype(np.int32)


def _check_multiplier(multiplier: int | np.ndarray, acc: np.ndarray) -> np.ndarray:
    values = np.asarray(multiplier)
    valid = (
        values.ndim <= 1
        and values.size > 0
        and np.issubdtype(values.dtype, np.integer)
        and values.min() >= 1
        and values.max() < MULTIPLIER_LIMIT
    )
    if not valid:
        raise ValueError(
            "Multiplier must be a positive integer below 2**31 or a 1-D array of them, "
            f"not {multiplier}"
        )
    if values.ndim == 1:
        channels = acc.shape[-1] if acc.ndim else 0
        if values.shape[0] != channels:
            raise ValueError(
                f"Per-channel multipliers need one value per channel on the last axis: "
                f"got {values.shape[0]} for an accumulator of shape {acc.shape}"
            )
    return values.astype(np.int64)


def requantize(
    acc: np.ndarray,
    multiplier: int | np.ndarray,
    shift: int,
    zero_point: int = 0,
    qmin: int = INT8_MIN,
    qmax: int = INT8_MAX,
) -> np.ndarray:
    """Requantize an int32 accumulator to int8 with fixed-point arithmetic.

    ``acc``: integer array of accumulator values, any shape; every value must fit in int32.
    ``multiplier``: integer in [1, 2**31), or a 1-D array of them with one multiplier per output
    channel (the last axis of ``acc``). ``shift``: right shift in bits, 1..62.
    ``zero_point``: int8 value added after scaling. ``qmin``/``qmax``: clip bounds, int8 values.

    Returns int8 of ``acc``'s shape:
    ``clip(((acc * multiplier + 2**(shift-1)) >> shift) + zero_point, qmin, qmax)``, computed
    exactly in int64; ties round toward +inf.
    """
    acc = _integer_array(acc, "Accumulator")
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError("Accumulator values must fit in int32")
    multipliers = _check_multiplier(multiplier, acc)
    if not _is_int(shift) or shift < 1:
        raise ValueError(f"Shift must be a positive integer, not {shift}")
    if shift > MAX_SHIFT:
        raise ValueError(f"Shift must be at most {MAX_SHIFT}, not {shift}")
    if not _is_int(zero_point) or not INT8_MIN <= zero_point <= INT8_MAX:
        raise ValueError(f"Zero point must be an integer in [-128, 127], not {zero_point}")
    if not (_is_int(qmin) and _is_int(qmax) and INT8_MIN <= qmin <= qmax <= INT8_MAX):
        raise ValueError(
            f"Clip bounds must be integers with -128 <= qmin <= qmax <= 127, not ({qmin}, {qmax})"
        )
    scaled = (acc.astype(np.int64) * multipliers + (1 << (shift - 1))) >> shift
    return np.clip(scaled + zero_point, qmin, qmax).astype(np.int8)


def quantize_multiplier(scale: float, bits: int = 31) -> tuple[int, int]:
    """Fixed-point (multiplier, shift) for a positive real ``scale`` ~ multiplier / 2**shift.

    Write ``scale = f * 2**e`` with ``f`` in [0.5, 1). Then ``multiplier = round(f * 2**bits)``
    (ties to even) and ``shift = bits - e``; if rounding reaches ``2**bits`` the multiplier is
    halved and the shift lowered by one. So ``multiplier`` is in [2**(bits-1), 2**bits) and the
    relative error ``|multiplier / 2**shift - scale| / scale`` is at most 2**-bits.

    ``bits`` is 1..31, so the multiplier fits :func:`requantize`. Raises ValueError when the scale
    would need a shift outside 1..62 (with bits=31, valid scales run from 2**-32 to just below
    2**30).
    """
    if not _is_int(bits) or not 1 <= bits <= 31:
        raise ValueError(f"Bits must be an integer in [1, 31], not {bits}")
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"Scale must be a positive finite number, not {scale}")
    fraction, exponent = math.frexp(scale)
    multiplier = round(fraction * 2**bits)
    shift = bits - exponent
    if multiplier == 2**bits:
        multiplier //= 2
        shift -= 1
    if not 1 <= shift <= MAX_SHIFT:
        raise ValueError(
            f"Scale {scale} needs a shift of {shift} with a {bits}-bit multiplier; "
            f"the shift must be in [1, {MAX_SHIFT}]"
        )
    return multiplier, shift
