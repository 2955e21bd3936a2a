"""Weight augmentation (seed 003, Sec. 4.1): perturb one layer's weights and see what it costs.

* scalar addition: ``w + s`` for every weight of the layer (Sec. 4.1.1);
* scalar multiplication: ``w * s`` (Sec. 4.1.2);
* bit flip: one random bit of the float32 encoding flipped in each chosen weight (Sec. 4.1.3;
  seed 003 flips one bit in every weight of the layer, ``fraction=1``).

Seed 003's noise vector is :data:`REPORT_NOISE`.
"""

from __future__ import annotations

import numpy as np

REPORT_NOISE: tuple[float, ...] = (0.25, 0.4, 0.6, 0.85, 0.96, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
"""Scalars used for both addition and multiplication in seed 003, Sec. 4.1.1-4.1.2."""

FLOAT32_BITS = 32


def scalar_add(weights: np.ndarray, scalar: float) -> np.ndarray:
    """``weights + scalar`` as float32."""
    return (np.asarray(weights, dtype=np.float32) + np.float32(scalar)).astype(np.float32)


def scalar_multiply(weights: np.ndarray, scalar: float) -> np.ndarray:
    """``weights * scalar`` as float32."""
    return (np.asarray(weights, dtype=np.float32) * np.float32(scalar)).astype(np.float32)


def bit_flip(weights: np.ndarray, rng: np.random.Generator, fraction: float = 1.0) -> np.ndarray:
    """Flip one uniformly chosen bit (0..31) of the float32 encoding of chosen weights.

    ``fraction`` (0..1] of the weights, chosen without replacement and rounded to the nearest
    count, each get exactly one flipped bit; the others are unchanged. A flipped exponent bit
    can make a weight huge, inf or NaN, as in the hardware fault it models.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    flipped = np.array(weights, dtype=np.float32, copy=True)
    bits = flipped.reshape(-1).view(np.uint32)
    chosen = rng.choice(bits.size, size=round(bits.size * fraction), replace=False)
    positions = rng.integers(0, FLOAT32_BITS, size=chosen.size, dtype=np.uint32)
    bits[chosen] ^= np.left_shift(np.uint32(1), positions, dtype=np.uint32)
    return flipped
