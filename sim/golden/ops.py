"""Golden reference operators in NumPy, the ground truth that RTL and memory techniques must match.

Layout: activations are NHWC, ``(batch, height, width, channels)``, batch first. Convolution
weights are ``(kh, kw, cin/groups, cout)``; output channel ``o`` belongs to group
``g = o // (cout/groups)`` and reads input channels ``g*cin/groups .. (g+1)*cin/groups - 1``.
Fully connected weights are ``(in, out)``.

Two data types, never mixed within one call:

* float32: products and sums are accumulated in float64 and the result is rounded once to
  float32, so results do not depend on summation order to float32 precision.
* int8: inputs and weights are int8. Products are summed exactly, the int32 bias is added and the
  total wraps to int32 in two's complement, as a 32-bit hardware accumulator does (wrapping is
  modular, so it does not matter at which step it happens). Conv and FC return int32, ready for
  :func:`sim.golden.quant.requantize`; the other ops return int8. The sums of products run as
  float64 matrix products, which are exact here: an int8 product is at most 2**14 in magnitude,
  so every partial sum of up to 2**39 of them is an integer below 2**53. Longer sums fall back to
  int64.

Padding is zero padding, given as an int, ``(ph, pw)`` or ``(top, bottom, left, right)`` in
elements. The output size of every windowed op along one spatial axis is
``floor((H + pad_top + pad_bottom - dilation*(k-1) - 1) / stride) + 1``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sim.golden.quant import INT8_MAX, INT8_MIN, saturate_int8, wrap_int32

IntPair = int | tuple[int, int]
Padding = int | tuple[int, int] | tuple[int, int, int, int]

FLOAT32 = np.dtype(np.float32)
INT8 = np.dtype(np.int8)
EXACT_FLOAT64_TERMS = 2**53 // 2**14  # int8 products whose sum float64 always holds exactly


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _as_tuple(value: object) -> tuple[object, ...]:
    if _is_int(value):
        return (value,)
    return tuple(value) if isinstance(value, tuple | list) else ()


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    values = _as_tuple(value)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(_is_int(v) and v >= 1 for v in values):
        raise ValueError(f"{name} must be a positive integer or a pair of them, not {value!r}")
    return int(values[0]), int(values[1])


def _padding4(padding: Padding) -> tuple[int, int, int, int]:
    values = _as_tuple(padding)
    if len(values) == 1:
        values = values * 4
    elif len(values) == 2:
        values = (values[0], values[0], values[1], values[1])
    if len(values) != 4 or not all(_is_int(v) and v >= 0 for v in values):
        raise ValueError(
            "padding must be a non-negative integer, (ph, pw) or (top, bottom, left, right), "
            f"not {padding!r}"
        )
    top, bottom, left, right = (int(v) for v in values)
    return top, bottom, left, right


def _is_int8(op: str, *arrays: np.ndarray) -> bool:
    """True for all-int8 operands, False for all-float32; TypeError for anything else."""
    dtypes = {array.dtype for array in arrays}
    if dtypes == {INT8}:
        return True
    if dtypes == {FLOAT32}:
        return False
    names = ", ".join(str(array.dtype) for array in arrays)
    raise TypeError(f"{op} needs operands that are all float32 or all int8, got {names}")


def _check_ndim(x: np.ndarray, ndim: int, what: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{what}; got shape {x.shape}")


def _output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def _taps(
    padded: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> Iterator[tuple[int, int, np.ndarray]]:
    """For each kernel tap (i, j), the (N, OH, OW, ...) view of the inputs that tap multiplies."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_hw
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            yield i, j, padded[:, rows, cols]


def _check_bias(bias: np.ndarray | None, cout: int, integer: bool, op: str) -> np.ndarray | None:
    if bias is None:
        return None
    bias = np.asarray(bias)
    wanted = np.dtype(np.int32) if integer else FLOAT32
    if bias.dtype != wanted:
        raise TypeError(f"{op} bias must be {wanted} for {'int8' if integer else 'float32'} "
                        f"operands, not {bias.dtype}")
    if bias.shape != (cout,):
        raise ValueError(f"{op} bias must have shape ({cout},), not {bias.shape}")
    return bias


def _sum_dtype(integer: bool, terms: int) -> type[np.generic]:
    """dtype to sum ``terms`` products in: float64, or int64 for int8 sums too long for float64."""
    return np.int64 if integer and terms > EXACT_FLOAT64_TERMS else np.float64


def _finish(acc: np.ndarray, bias: np.ndarray | None, integer: bool) -> np.ndarray:
    """Add the bias to a sum of products and narrow it: int8 operands give int32 (wrapped),
    float32 operands give float32."""
    if not integer:
        return (acc if bias is None else acc + bias.astype(np.float64)).astype(np.float32)
    acc = acc.astype(np.int64)  # exact: the sum holds integers
    return wrap_int32(acc if bias is None else acc + bias.astype(np.int64))


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution (cross-correlation, as in CNN frameworks) with zero padding.

    ``x``: (N, H, W, cin); ``w``: (kh, kw, cin/groups, cout); ``bias``: (cout,) or None.
    float32 ``x``/``w`` (float32 bias) give float32; int8 ``x``/``w`` (int32 bias) give the int32
    accumulator, wrapped in two's complement. ``stride``/``dilation``: int or (sh, sw);
    ``padding``: int, (ph, pw) or (top, bottom, left, right). ``groups`` must divide cin and cout;
    groups == cin is a depthwise convolution (cout = k*cin gives depth multiplier k).
    Returns (N, OH, OW, cout).
    """
    integer = _is_int8("conv2d", x, w)
    _check_ndim(x, 4, "conv2d input must be (N, H, W, C)")
    _check_ndim(w, 4, "conv2d weights must be (kh, kw, cin/groups, cout)")
    n, height, width, cin = x.shape
    kh, kw, cin_per_group, cout = w.shape
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"groups must be a positive integer, not {groups!r}")
    if cin % groups:
        raise ValueError(f"input channels {cin} are not divisible by groups {groups}")
    if cout % groups:
        raise ValueError(f"output channels {cout} are not divisible by groups {groups}")
    if cin_per_group != cin // groups:
        raise ValueError(
            f"weights have {cin_per_group} input channels per group, but the input has "
            f"{cin} channels in {groups} groups ({cin // groups} per group)"
        )
    stride = _pair(stride, "stride")
    dilation = _pair(dilation, "dilation")
    top, bottom, left, right = _padding4(padding)
    padded_hw = (height + top + bottom, width + left + right)
    out_hw = (
        _output_size(padded_hw[0], kh, stride[0], dilation[0]),
        _output_size(padded_hw[1], kw, stride[1], dilation[1]),
    )
    if min(out_hw) < 1:
        raise ValueError(
            f"kernel {kh}x{kw} with dilation {dilation} does not fit the padded input "
            f"{padded_hw[0]}x{padded_hw[1]}"
        )
    bias = _check_bias(bias, cout, integer, "conv2d")

    acc_dtype = _sum_dtype(integer, kh * kw * cin_per_group)
    cout_per_group = cout // groups
    padded = np.pad(x.astype(acc_dtype), ((0, 0), (top, bottom), (left, right), (0, 0)))
    # Groups become a batch axis of one matrix product per kernel tap:
    # (groups, N*OH*OW, cin/groups) @ (groups, cin/groups, cout/groups).
    grouped = padded.reshape(n, *padded_hw, groups, cin_per_group)
    weights = w.astype(acc_dtype).reshape(kh, kw, cin_per_group, groups, cout_per_group)
    weights = weights.transpose(0, 1, 3, 2, 4)
    acc = np.zeros((groups, n * out_hw[0] * out_hw[1], cout_per_group), acc_dtype)
    for i, j, window in _taps(grouped, (kh, kw), stride, dilation, out_hw):
        acc += window.reshape(-1, groups, cin_per_group).transpose(1, 0, 2) @ weights[i, j]
    acc = acc.reshape(groups, n, *out_hw, cout_per_group).transpose(1, 2, 3, 0, 4)
    return _finish(acc.reshape(n, *out_hw, cout), bias, integer)


def fully_connected(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Fully connected layer: ``x @ w + bias``.

    ``x``: (N, in) or (N, 1, 1, in); ``w``: (in, out); ``bias``: (out,) or None. Same dtype rules
    as :func:`conv2d`: float32 -> float32, int8 -> int32 accumulator. Returns (N, out).
    """
    integer = _is_int8("fully_connected", x, w)
    if x.ndim == 4 and x.shape[1:3] == (1, 1):
        x = x.reshape(x.shape[0], x.shape[3])
    _check_ndim(x, 2, "fully_connected input must be (N, in) or (N, 1, 1, in)")
    _check_ndim(w, 2, "fully_connected weights must be (in, out)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"fully_connected input has {x.shape[1]} features but the weights expect {w.shape[0]}"
        )
    bias = _check_bias(bias, w.shape[1], integer, "fully_connected")
    acc_dtype = _sum_dtype(integer, x.shape[1])
    return _finish(x.astype(acc_dtype) @ w.astype(acc_dtype), bias, integer)


def _pool_output_size(size: int, before: int, after: int, kernel: int, stride: int,
                      ceil_mode: bool) -> int:
    """Windows along one axis: floor((size + pads - kernel) / stride) + 1, or with ``ceil_mode``
    the ceiling, dropping a last window that would start past the input and its leading pad."""
    if not ceil_mode:
        return _output_size(size + before + after, kernel, stride, 1)
    count = -(-(size + before + after - kernel) // stride) + 1
    return count - 1 if (count - 1) * stride >= size + before else count


def _pool_geometry(
    x: np.ndarray, op: str, kernel: IntPair, stride: IntPair | None, padding: Padding,
    ceil_mode: bool = False,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int], tuple[int, int]]:
    """Checked (kernel, stride, padding, output size) of a pooling op.

    With ``ceil_mode`` the returned padding grows at the bottom and right by what the last
    window hangs over the input; callers fill it so it never counts.
    """
    _check_ndim(x, 4, f"{op} input must be (N, H, W, C)")
    kernel = _pair(kernel, "kernel")
    stride = kernel if stride is None else _pair(stride, "stride")
    pads = _padding4(padding)
    top, bottom, left, right = pads
    if max(top, bottom) >= kernel[0] or max(left, right) >= kernel[1]:
        raise ValueError(
            f"{op} padding {pads} must be smaller than the kernel {kernel} on every side, "
            "so that every window holds at least one input element"
        )
    out_hw = (
        _pool_output_size(x.shape[1], top, bottom, kernel[0], stride[0], ceil_mode),
        _pool_output_size(x.shape[2], left, right, kernel[1], stride[1], ceil_mode),
    )
    if min(out_hw) < 1:
        raise ValueError(
            f"{op} kernel {kernel} does not fit the padded input "
            f"{x.shape[1] + top + bottom}x{x.shape[2] + left + right}"
        )
    # Rows and columns the windows reach beyond the padded input (ceil mode only).
    bottom += max(0, (out_hw[0] - 1) * stride[0] + kernel[0] - (x.shape[1] + top + bottom))
    right += max(0, (out_hw[1] - 1) * stride[1] + kernel[1] - (x.shape[2] + left + right))
    return kernel, stride, (top, bottom, left, right), out_hw


def _pad_hw(x: np.ndarray, pads: tuple[int, int, int, int], value: float) -> np.ndarray:
    top, bottom, left, right = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _rounded_mean(total: np.ndarray, count: np.ndarray | int) -> np.ndarray:
    """int64 ``total / count`` (count > 0) rounded half away from zero, as int8."""
    magnitude = (2 * np.abs(total) + count) // (2 * count)
    return saturate_int8(np.sign(total) * magnitude)


def max_pool2d(
    x: np.ndarray, *, kernel: IntPair, stride: IntPair | None = None, padding: Padding = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Max pooling over (N, H, W, C) float32 or int8; returns (N, OH, OW, C) of the same dtype.

    ``stride`` defaults to ``kernel``. Padded positions hold -inf (float32) or -128 (int8), so
    they never change a window's maximum; each padding side must be smaller than the kernel.
    ``ceil_mode`` rounds the output size up (PyTorch's rule); windows hanging over the bottom or
    right edge take the maximum of the elements inside.
    """
    integer = _is_int8("max_pool2d", x)
    kernel, stride, pads, out_hw = _pool_geometry(x, "max_pool2d", kernel, stride, padding,
                                                  ceil_mode)
    padded = _pad_hw(x, pads, INT8_MIN if integer else -np.inf)
    out = np.full((x.shape[0], *out_hw, x.shape[3]), INT8_MIN if integer else -np.inf, x.dtype)
    for _, _, window in _taps(padded, kernel, stride, (1, 1), out_hw):
        np.maximum(out, window, out=out)
    return out


def avg_pool2d(
    x: np.ndarray, *, kernel: IntPair, stride: IntPair | None = None, padding: Padding = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Average pooling over (N, H, W, C) float32 or int8; returns (N, OH, OW, C), same dtype.

    ``stride`` defaults to ``kernel``. Padded positions are left out of both the sum and the
    count (count_include_pad=False); each padding side must be smaller than the kernel. float32
    sums in float64 and rounds the mean once to float32; int8 sums exactly and rounds the mean
    to the nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3). ``ceil_mode`` rounds
    the output size up; the overhang of the last windows is left out like padding.
    """
    integer = _is_int8("avg_pool2d", x)
    kernel, stride, pads, out_hw = _pool_geometry(x, "avg_pool2d", kernel, stride, padding,
                                                  ceil_mode)
    acc_dtype = np.int64 if integer else np.float64
    padded = _pad_hw(x.astype(acc_dtype), pads, 0)
    inside = _pad_hw(np.ones((1, *x.shape[1:3], 1), np.int64), pads, 0)
    total = np.zeros((x.shape[0], *out_hw, x.shape[3]), acc_dtype)
    count = np.zeros((1, *out_hw, 1), np.int64)
    for _, _, window in _taps(padded, kernel, stride, (1, 1), out_hw):
        total += window
    for _, _, window in _taps(inside, kernel, stride, (1, 1), out_hw):
        count += window
    if integer:
        return _rounded_mean(total, count)
    return (total / count).astype(np.float32)


def global_avg_pool2d(x: np.ndarray) -> np.ndarray:
    """Mean over height and width: (N, H, W, C) -> (N, 1, 1, C), float32 or int8.

    Same arithmetic as :func:`avg_pool2d`: float32 via a float64 mean; int8 via an exact sum and
    the mean rounded half away from zero.
    """
    integer = _is_int8("global_avg_pool2d", x)
    _check_ndim(x, 4, "global_avg_pool2d input must be (N, H, W, C)")
    count = x.shape[1] * x.shape[2]
    if integer:
        return _rounded_mean(x.astype(np.int64).sum(axis=(1, 2), keepdims=True), count)
    return x.astype(np.float64).mean(axis=(1, 2), keepdims=True).astype(np.float32)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise sum of two tensors of the same shape (a residual connection).

    float32: ``a + b`` in float32. int8: the exact sum saturated to [-128, 127], as int8. Both
    int8 operands are taken to share one scale and zero point 0, so no rescaling happens.
    """
    integer = _is_int8("add", a, b)
    if a.shape != b.shape:
        raise ValueError(f"add needs operands of the same shape, got {a.shape} and {b.shape}")
    if integer:
        return saturate_int8(a.astype(np.int16) + b.astype(np.int16))
    return a + b


def _float_only(x: np.ndarray, op: str) -> None:
    if x.dtype != FLOAT32:
        raise TypeError(f"{op} needs a float32 tensor, not {x.dtype}; use clamp for int8")


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) for a float32 tensor of any shape."""
    _float_only(x, "relu")
    return np.maximum(x, np.float32(0))


def relu6(x: np.ndarray) -> np.ndarray:
    """min(max(x, 0), 6) for a float32 tensor of any shape."""
    _float_only(x, "relu6")
    return np.clip(x, np.float32(0), np.float32(6))


def clamp(x: np.ndarray, lo: int | float, hi: int | float) -> np.ndarray:
    """Clip a float32 or int8 tensor to [lo, hi]; the result keeps ``x``'s dtype and shape.

    For int8, ``lo`` and ``hi`` must be integers in [-128, 127] (ReLU is ``clamp(x, 0, 127)``
    when the output scale puts the activation's upper bound at 127).
    """
    integer = _is_int8("clamp", x)
    if integer and not (_is_int(lo) and _is_int(hi) and INT8_MIN <= lo <= INT8_MAX
                        and INT8_MIN <= hi <= INT8_MAX):
        raise ValueError(f"int8 clamp bounds must be integers in [-128, 127], not ({lo}, {hi})")
    if not lo <= hi:
        raise ValueError(f"clamp needs lo <= hi, not ({lo}, {hi})")
    return np.clip(x, x.dtype.type(lo), x.dtype.type(hi))
