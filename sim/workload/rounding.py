"""Channel rounding shared by the zoo's width-multiplied networks."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never below 90% of ``value``.

    This is the rounding MobileNetV2 (and torchvision's implementation) applies to
    width-multiplied channel counts.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
