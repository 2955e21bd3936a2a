"""Fixed-point quantization helpers against Python-integer and exact-fraction references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from sim.golden.quant import quantize_multiplier, requantize, saturate_int8, wrap_int32

INT8 = np.iinfo(np.int8)
INT32 = np.iinfo(np.int32)
INT64 = np.iinfo(np.int64)
MULTIPLIER_BITS = 31
MAX_SHIFT = 62
SETTINGS = settings(max_examples=80, deadline=None)

int8_values = st.integers(INT8.min, INT8.max)
int32_values = st.integers(INT32.min, INT32.max)
multipliers = st.integers(1, 2**MULTIPLIER_BITS - 1)
shifts = st.integers(1, MAX_SHIFT)


def reference_requantize(
    acc: int, multiplier: int, shift: int, zero_point: int, qmin: int, qmax: int
) -> int:
    """acc * multiplier / 2**shift rounded half up (toward +inf), offset and clipped."""
    rounded = math.floor(Fraction(acc * multiplier, 2**shift) + Fraction(1, 2))
    return min(max(rounded + zero_point, qmin), qmax)


@st.composite
def clip_bounds(draw: st.DrawFn) -> tuple[int, int]:
    low, high = sorted(draw(st.lists(int8_values, min_size=2, max_size=2)))
    return low, high


@SETTINGS
@given(arrays(np.int32, array_shapes(max_dims=3, max_side=4), elements=int32_values),
       multipliers, shifts, int8_values, clip_bounds())
def test_requantize_matches_integer_reference(
    acc: np.ndarray, multiplier: int, shift: int, zero_point: int, bounds: tuple[int, int]
) -> None:
    qmin, qmax = bounds
    actual = requantize(acc, multiplier, shift, zero_point, qmin, qmax)
    assert actual.dtype == np.int8
    assert actual.shape == acc.shape
    expected = [reference_requantize(a, multiplier, shift, zero_point, qmin, qmax)
                for a in acc.ravel().tolist()]
    np.testing.assert_array_equal(actual.ravel(), expected)


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda channels: st.tuples(
    arrays(np.int32, (3, channels), elements=int32_values),
    arrays(np.int64, (channels,), elements=multipliers))), shifts)
def test_requantize_per_channel_multipliers(
    case: tuple[np.ndarray, np.ndarray], shift: int
) -> None:
    acc, channel_multipliers = case
    actual = requantize(acc, channel_multipliers, shift)
    bounds = (INT8.min, INT8.max)
    for (row, channel), value in np.ndenumerate(acc):
        multiplier = int(channel_multipliers[channel])
        assert actual[row, channel] == reference_requantize(int(value), multiplier, shift, 0,
                                                            *bounds)


def test_requantize_ties_round_toward_positive_infinity() -> None:
    shift = 1
    odd = np.arange(-2 * INT8.max + 1, 2 * INT8.max, 2, dtype=np.int32)  # odd / 2 is a tie
    actual = requantize(odd, 1, shift)
    expected = [(Fraction(v, 2**shift) + Fraction(1, 2)) for v in odd.tolist()]
    assert all(value.denominator == 1 for value in expected)
    np.testing.assert_array_equal(actual, [int(value) for value in expected])
    assert requantize(np.array([-3], np.int32), 1, shift).item() == -1  # -1.5 -> -1
    assert requantize(np.array([3], np.int32), 1, shift).item() == 2  # 1.5 -> 2


def test_requantize_extreme_accumulators_do_not_overflow() -> None:
    acc = np.array([INT32.min, -1, 0, 1, INT32.max], np.int32)
    multiplier = 2**MULTIPLIER_BITS - 1
    for shift in (1, MAX_SHIFT):
        expected = [reference_requantize(a, multiplier, shift, 0, INT8.min, INT8.max)
                    for a in acc.tolist()]
        np.testing.assert_array_equal(requantize(acc, multiplier, shift), expected)


def test_requantize_accepts_wider_integer_accumulators() -> None:
    acc = np.array([INT32.min, INT32.max], np.int64)
    np.testing.assert_array_equal(requantize(acc, 1, MAX_SHIFT), requantize(acc.astype(np.int32),
                                                                           1, MAX_SHIFT))


@pytest.mark.parametrize("shift, message", [
    (0, "Shift must be a positive integer, not 0"),
    (-3, "Shift must be a positive integer, not -3"),
    (1.5, "Shift must be a positive integer, not 1.5"),
    (MAX_SHIFT + 1, f"Shift must be at most {MAX_SHIFT}, not {MAX_SHIFT + 1}"),
])
def test_requantize_rejects_shift(shift: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        requantize(np.zeros(2, np.int32), 1, shift)


@pytest.mark.parametrize("multiplier", [0, -1, 2**MULTIPLIER_BITS, 1.5, np.array([[1]]),
                                        np.array([], np.int64), np.array([1, 0])])
def test_requantize_rejects_multiplier(multiplier: object) -> None:
    with pytest.raises(ValueError, match="Multiplier must be a positive integer below 2"):
        requantize(np.zeros((1, 2), np.int32), multiplier, 1)


def test_requantize_rejects_other_arguments() -> None:
    acc = np.zeros((2, 3), np.int32)
    with pytest.raises(ValueError, match="need one value per channel on the last axis: got 2"):
        requantize(acc, np.array([1, 2]), 1)
    with pytest.raises(TypeError, match="Accumulator must be an integer array, not float32"):
        requantize(acc.astype(np.float32), 1, 1)
    with pytest.raises(ValueError, match="Accumulator values must fit in int32"):
        requantize(np.array([INT32.max + 1], np.int64), 1, 1)
    with pytest.raises(ValueError, match="Zero point must be an integer in"):
        requantize(acc, 1, 1, zero_point=INT8.max + 1)
    with pytest.raises(ValueError, match="Clip bounds must be integers"):
        requantize(acc, 1, 1, qmin=1, qmax=0)
    with pytest.raises(ValueError, match="Clip bounds must be integers"):
        requantize(acc, 1, 1, qmin=INT8.min - 1)


@st.composite
def scales_and_bits(draw: st.DrawFn) -> tuple[float, int]:
    """A bit width and a scale whose shift is comfortably inside 1..MAX_SHIFT."""
    bits = draw(st.integers(1, MULTIPLIER_BITS))
    exponent_low, exponent_high = bits - MAX_SHIFT + 1, bits - 2
    scale = draw(st.floats(2.0**exponent_low, 2.0**exponent_high))
    return scale, bits


@SETTINGS
@given(scales_and_bits())
def test_quantize_multiplier_error_bound(case: tuple[float, int]) -> None:
    scale, bits = case
    multiplier, shift = quantize_multiplier(scale, bits)
    assert isinstance(multiplier, int) and isinstance(shift, int)
    assert 2 ** (bits - 1) <= multiplier < 2**bits
    assert 1 <= shift <= MAX_SHIFT
    relative_error = abs(Fraction(multiplier, 2**shift) - Fraction(scale)) / Fraction(scale)
    assert relative_error <= Fraction(1, 2**bits) < Fraction(1, 2 ** (bits - 1))


@SETTINGS
@given(st.floats(2.0**-20, 2.0**4), st.lists(int32_values, min_size=1, max_size=8))
def test_quantize_multiplier_drives_requantize(scale: float, values: list[int]) -> None:
    multiplier, shift = quantize_multiplier(scale)
    actual = requantize(np.array(values, np.int32), multiplier, shift)
    for acc, out in zip(values, actual.tolist(), strict=True):
        ideal = min(max(Fraction(acc) * Fraction(scale), INT8.min), INT8.max)
        # half a level of rounding plus the multiplier's relative error on |acc * scale|
        bound = Fraction(1, 2) + abs(acc) * Fraction(scale) / 2**MULTIPLIER_BITS
        assert abs(out - ideal) <= bound


def test_quantize_multiplier_rounding_up_to_next_power_of_two() -> None:
    below_one = math.nextafter(1.0, 0.0)
    multiplier, shift = quantize_multiplier(below_one)
    assert multiplier == 2 ** (MULTIPLIER_BITS - 1)
    assert Fraction(multiplier, 2**shift) == 1


def test_quantize_multiplier_exact_powers_of_two() -> None:
    for exponent in range(-20, 20):
        multiplier, shift = quantize_multiplier(2.0**exponent)
        assert Fraction(multiplier, 2**shift) == Fraction(2) ** exponent


@pytest.mark.parametrize("scale, bits, message", [
    (0.0, MULTIPLIER_BITS, "Scale must be a positive finite number"),
    (-0.5, MULTIPLIER_BITS, "Scale must be a positive finite number"),
    (math.inf, MULTIPLIER_BITS, "Scale must be a positive finite number"),
    (math.nan, MULTIPLIER_BITS, "Scale must be a positive finite number"),
    (0.5, 0, "Bits must be an integer in"),
    (0.5, MULTIPLIER_BITS + 1, "Bits must be an integer in"),
    (2.0**MULTIPLIER_BITS, MULTIPLIER_BITS, "the shift must be in"),
    (2.0 ** -(MAX_SHIFT + 1), MULTIPLIER_BITS, "the shift must be in"),
])
def test_quantize_multiplier_rejects(scale: float, bits: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quantize_multiplier(scale, bits)


@SETTINGS
@given(arrays(np.int64, array_shapes(max_dims=2, max_side=5),
              elements=st.integers(INT64.min, INT64.max)))
def test_wrap_int32_keeps_low_32_bits(x: np.ndarray) -> None:
    actual = wrap_int32(x)
    assert actual.dtype == np.int32
    expected = [(v - INT32.min) % 2**32 + INT32.min for v in x.ravel().tolist()]
    np.testing.assert_array_equal(actual.ravel(), expected)


def test_wrap_int32_boundaries() -> None:
    x = np.array([INT32.max + 1, INT32.min - 1, INT32.max, INT32.min], np.int64)
    np.testing.assert_array_equal(wrap_int32(x), [INT32.min, INT32.max, INT32.max, INT32.min])


@SETTINGS
@given(arrays(np.int64, array_shapes(max_dims=2, max_side=5),
              elements=st.integers(INT64.min, INT64.max)))
def test_saturate_int8(x: np.ndarray) -> None:
    actual = saturate_int8(x)
    assert actual.dtype == np.int8
    expected = [min(max(v, INT8.min), INT8.max) for v in x.ravel().tolist()]
    np.testing.assert_array_equal(actual.ravel(), expected)


def test_integer_helpers_reject_floats() -> None:
    with pytest.raises(TypeError, match="saturate_int8 input must be an integer array"):
        saturate_int8(np.zeros(2, np.float32))
    with pytest.raises(TypeError, match="wrap_int32 input must be an integer array"):
        wrap_int32(np.zeros(2))
