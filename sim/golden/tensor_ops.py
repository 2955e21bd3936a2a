"""Golden data-movement and normalization ops: elementwise product with broadcasting, channel
concatenation, channel slice, channel shuffle and local response normalization.

Tensors are NHWC float32 or int8 (never mixed in one call); results keep the dtype.
int8 follows :mod:`sim.golden.activations`: zero point 0, and a product is rescaled by 1/128 so
that a gate at scale 1/128 keeps the other operand's scale.
"""

from __future__ import annotations

import numpy as np

from sim.golden.activations import INPUT_SCALE
from sim.golden.quant import saturate_int8

FLOAT32 = np.dtype(np.float32)
INT8 = np.dtype(np.int8)
MUL_SHIFT = 7  # int8 products are divided by 2**7


def _dtype_of(op: str, *arrays: np.ndarray) -> np.dtype:
    dtypes = {array.dtype for array in arrays}
    if dtypes in ({FLOAT32}, {INT8}):
        return dtypes.pop()
    names = ", ".join(str(array.dtype) for array in arrays)
    raise TypeError(f"{op} needs operands that are all float32 or all int8, got {names}")


def _check_nhwc(op: str, *arrays: np.ndarray) -> None:
    for array in arrays:
        if array.ndim != 4:
            raise ValueError(f"{op} needs (N, H, W, C) tensors; got shape {array.shape}")


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise product of (N, H, W, C) tensors of equal shape, or with one of them
    (N, 1, 1, C) broadcast over every pixel (squeeze-and-excitation).

    float32: the float32 product (exact product rounded once). int8: ``a * b / 128`` rounded
    half away from zero and saturated, as int8.
    """
    dtype = _dtype_of("mul", a, b)
    _check_nhwc("mul", a, b)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"mul operands {a.shape} and {b.shape} do not broadcast") from None
    if shape not in (a.shape, b.shape):
        raise ValueError(f"mul broadcasts one operand onto the other, not {a.shape} with "
                         f"{b.shape}")
    if dtype == FLOAT32:
        return a * b
    product = a.astype(np.int32) * b.astype(np.int32)
    half = 1 << (MUL_SHIFT - 1)
    magnitude = (np.abs(product) + half) >> MUL_SHIFT
    return saturate_int8(np.sign(product) * magnitude)


def concat(tensors: list[np.ndarray]) -> np.ndarray:
    """Concatenate (N, H, W, C_i) tensors along channels, in order: (N, H, W, sum C_i)."""
    if len(tensors) < 2:
        raise ValueError(f"concat needs at least 2 tensors, got {len(tensors)}")
    _dtype_of("concat", *tensors)
    _check_nhwc("concat", *tensors)
    if len({tensor.shape[:3] for tensor in tensors}) != 1:
        shapes = ", ".join(str(tensor.shape) for tensor in tensors)
        raise ValueError(f"concat needs equal batch, height and width, got {shapes}")
    return np.concatenate(tensors, axis=3)


def channel_slice(x: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Channels [start, stop) of an (N, H, W, C) tensor, as a new array."""
    _check_nhwc("channel_slice", x)
    if not 0 <= start < stop <= x.shape[3]:
        raise ValueError(f"channel_slice [{start}, {stop}) is outside 0..{x.shape[3]}")
    return x[..., start:stop].copy()


def channel_shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    """ShuffleNet's shuffle of an (N, H, W, C) tensor: output channel ``j * groups + g`` is input
    channel ``g * (C / groups) + j``."""
    _check_nhwc("channel_shuffle", x)
    n, height, width, channels = x.shape
    if groups < 1 or channels % groups:
        raise ValueError(f"{channels} channels do not split into {groups} groups")
    grouped = x.reshape(n, height, width, groups, channels // groups)
    return grouped.transpose(0, 1, 2, 4, 3).reshape(x.shape).copy()


def local_response_norm(x: np.ndarray, size: int, alpha: float, beta: float, bias: float
                        ) -> np.ndarray:
    """Local response normalization across channels, as PyTorch and ONNX define it:
    ``b_c = a_c / (bias + alpha / size * sum_{k} a_k**2)**beta`` with ``k`` running over
    channels ``c - (size - 1) // 2 .. c + size // 2`` inside the map.

    float32 is computed in float64 and rounded once. int8 reads levels at scale 1/16, computes
    in float64 and writes the result at the same scale, rounded half away from zero, saturated.
    """
    dtype = _dtype_of("local_response_norm", x)
    _check_nhwc("local_response_norm", x)
    values = x.astype(np.float64) * (INPUT_SCALE if dtype == INT8 else 1.0)
    squares = np.pad(values**2, ((0, 0), (0, 0), (0, 0), ((size - 1) // 2, size // 2)))
    window = sum(squares[..., k:k + x.shape[3]] for k in range(size))
    out = values / (bias + alpha / size * window) ** beta
    if dtype == FLOAT32:
        return out.astype(np.float32)
    scaled = out / INPUT_SCALE
    return saturate_int8((np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int64))
