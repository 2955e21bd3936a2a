"""Zero skipping: weights that are zero (or at most a threshold in magnitude) are not stored and
their multiply-accumulates are not performed.

A weight ``w`` counts as zero when ``|w| <= threshold`` (threshold 0 means exactly zero, which
also matches -0.0). Skipping a below-threshold weight is the same as pruning it to zero, so the
accuracy cost of a threshold is measured with :func:`prune`.

Stored form (:func:`zero_skip_weight_bytes`): the nonzero weights in C order at the weight
type's width, a presence bitmap of one bit per weight rounded up to whole bytes, and
:data:`METADATA_BYTES` for two 32-bit words (weight count and nonzero count). The bitmap costs
``count / 8`` bytes whatever the sparsity, so zero skipping saves storage only when more than
``1 / (8 * dtype_bytes)`` of the weights are zero (1/32 for fp32, 1/8 for int8).

MACs: in a convolution or a fully connected layer every weight is used by the same number of
MACs (once per output pixel and image; zero padding is computed like any other input), so the
fraction of MACs skipped equals the fraction of zero weights.
"""

from __future__ import annotations

import numpy as np

METADATA_BYTES = 8
"""Bytes of metadata per zero-skip tensor: weight count and nonzero count (32 bits each)."""


def _check_threshold(threshold: float) -> float:
    if not threshold >= 0 or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number >= 0, not {threshold!r}")
    return float(threshold)


def zero_mask(weights: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Boolean array, True where ``|w| <= threshold`` (the weight is skipped), compared exactly
    (in float64: a float32 weight is not rounded to the threshold's nearest float32)."""
    return np.abs(np.asarray(weights, dtype=np.float64)) <= _check_threshold(threshold)


def zero_count(weights: np.ndarray, threshold: float = 0.0) -> int:
    """Number of weights with ``|w| <= threshold``."""
    return int(np.count_nonzero(zero_mask(weights, threshold)))


def skipped_macs_fraction(weights: np.ndarray, threshold: float = 0.0) -> float:
    """Fraction (0..1) of a conv/FC layer's MACs skipped: the fraction of skipped weights."""
    weights = np.asarray(weights)
    if weights.size == 0:
        raise ValueError("a layer without weights has no MACs to skip")
    return zero_count(weights, threshold) / weights.size


def bitmap_bytes(count: int) -> int:
    """Bytes of a presence bitmap for ``count`` weights (one bit each, whole bytes)."""
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    return -(-count // 8)


def zero_skip_bytes(count: int, nonzero: int, dtype_bytes: int) -> int:
    """Stored bytes of ``count`` weights of which ``nonzero`` are kept.

    ``nonzero * dtype_bytes + ceil(count / 8) + METADATA_BYTES``; an empty tensor stores nothing.
    """
    if not 0 <= nonzero <= count:
        raise ValueError(f"nonzero must be in [0, count={count}], not {nonzero}")
    if dtype_bytes < 1:
        raise ValueError(f"dtype_bytes must be a positive integer, not {dtype_bytes}")
    if count == 0:
        return 0
    return nonzero * dtype_bytes + bitmap_bytes(count) + METADATA_BYTES


def zero_skip_weight_bytes(weights: np.ndarray, dtype_bytes: int, threshold: float = 0.0) -> int:
    """Stored bytes of one tensor under zero skipping, see :func:`zero_skip_bytes`."""
    weights = np.asarray(weights)
    nonzero = weights.size - zero_count(weights, threshold)
    return zero_skip_bytes(weights.size, nonzero, dtype_bytes)


def prune(weights: np.ndarray, threshold: float) -> np.ndarray:
    """A copy of ``weights`` with every ``|w| <= threshold`` set to zero (same dtype)."""
    weights = np.asarray(weights)
    return np.where(zero_mask(weights, threshold), np.zeros_like(weights), weights)


def per_layer_zero_counts(
    layers: dict[str, np.ndarray], threshold: float = 0.0,
) -> dict[str, tuple[int, int]]:
    """``{layer: (zero weights, all weights)}`` for each named weight tensor."""
    return {name: (zero_count(w, threshold), int(np.size(w))) for name, w in layers.items()}
