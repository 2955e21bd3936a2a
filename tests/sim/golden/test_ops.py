"""Golden ops against plain nested-loop references written with Python numbers."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.golden import ops
from sim.golden.quant import wrap_int32

INT8 = np.iinfo(np.int8)
INT16 = np.iinfo(np.int16)
INT32 = np.iinfo(np.int32)
FLOAT32_EPS = float(np.finfo(np.float32).eps)
SETTINGS = settings(max_examples=60, deadline=None)

int8_values = st.integers(int(INT8.min), int(INT8.max))
int32_values = st.integers(int(INT32.min), int(INT32.max))
float_values = st.floats(-2.0, 2.0, width=32, allow_subnormal=False)


def wrap32(value: int) -> int:
    """Two's-complement wrap of a Python int to 32 bits."""
    return (value - int(INT32.min)) % 2**32 + int(INT32.min)


def round_half_away(value: Fraction) -> int:
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def int_mean(values: list[int]) -> int:
    """Mean rounded to the nearest integer, halves away from zero."""
    return round_half_away(Fraction(sum(values), len(values)))


def float_mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def tensors(dtype: type, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(dtype, shape, elements=int8_values if dtype is np.int8 else float_values)


def optional_bias(draw: st.DrawFn, dtype: type, size: int) -> np.ndarray | None:
    if not draw(st.booleans()):
        return None
    if dtype is np.int8:
        return draw(arrays(np.int32, (size,), elements=int32_values))
    return draw(arrays(np.float32, (size,), elements=float_values))


def assert_float32_close(actual: np.ndarray, expected: np.ndarray, magnitude: float) -> None:
    """float32 result of a float64 sum: within float32 rounding of the result and of its terms.

    ``magnitude`` bounds the sum of the absolute values of the terms.
    """
    assert actual.dtype == np.float32
    np.testing.assert_allclose(
        actual, expected.astype(np.float64), rtol=FLOAT32_EPS, atol=FLOAT32_EPS * magnitude
    )


def in_range(value: int, size: int) -> bool:
    return 0 <= value < size


# --- convolution -------------------------------------------------------------------------------


def reference_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """Direct convolution with Python numbers; exact (unwrapped) sums for integers."""
    xs, ws = x.tolist(), w.tolist()
    biases = None if bias is None else bias.tolist()
    batch, height, width, _ = x.shape
    kh, kw, cin_per_group, cout = w.shape
    cout_per_group = cout // groups
    top, bottom, left, right = padding
    out_h = (height + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (width + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((batch, out_h, out_w, cout), dtype=object)
    for n in range(batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for oc in range(cout):
                    group = oc // cout_per_group
                    total = 0 if biases is None else biases[oc]
                    for ky in range(kh):
                        for kx in range(kw):
                            for ic in range(cin_per_group):
                                iy = oy * stride[0] - top + ky * dilation[0]
                                ix = ox * stride[1] - left + kx * dilation[1]
                                if in_range(iy, height) and in_range(ix, width):
                                    channel = group * cin_per_group + ic
                                    total += xs[n][iy][ix][channel] * ws[ky][kx][ic][oc]
                    out[n, oy, ox, oc] = total
    return out


@st.composite
def conv_cases(draw: st.DrawFn, dtype: type) -> dict:
    depthwise = draw(st.booleans())
    groups = draw(st.integers(1, 3))
    cin_per_group = 1 if depthwise else draw(st.integers(1, 3))
    cout_per_group = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
    height = draw(st.integers(max(1, extent[0] - padding[0] - padding[1]), extent[0] + 4))
    width = draw(st.integers(max(1, extent[1] - padding[2] - padding[3]), extent[1] + 4))
    batch = draw(st.integers(1, 2))
    x = draw(tensors(dtype, (batch, height, width, groups * cin_per_group)))
    w = draw(tensors(dtype, (*kernel, cin_per_group, groups * cout_per_group)))
    bias = optional_bias(draw, dtype, groups * cout_per_group)
    return dict(x=x, w=w, bias=bias, stride=stride, padding=padding, dilation=dilation,
                groups=groups)


def run_conv(case: dict) -> np.ndarray:
    return ops.conv2d(case["x"], case["w"], case["bias"], stride=case["stride"],
                      padding=case["padding"], dilation=case["dilation"], groups=case["groups"])


@SETTINGS
@given(conv_cases(np.int8))
def test_conv2d_int8_matches_direct_loops(case: dict) -> None:
    expected = np.vectorize(wrap32, otypes=[np.int64])(reference_conv2d(**case))
    actual = run_conv(case)
    assert actual.dtype == np.int32
    np.testing.assert_array_equal(actual, expected)


@SETTINGS
@given(conv_cases(np.float32))
def test_conv2d_float32_matches_direct_loops(case: dict) -> None:
    expected = reference_conv2d(**case)
    kh, kw, cin_per_group, _ = case["w"].shape
    magnitude = kh * kw * cin_per_group * 2.0 * 2.0 + 2.0  # terms and bias are at most 2 each
    assert_float32_close(run_conv(case), expected, magnitude)


@SETTINGS
@given(conv_cases(np.int8))
def test_conv2d_int64_sums_agree_with_float64_sums(case: dict) -> None:
    fast = run_conv(case)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ops, "EXACT_FLOAT64_TERMS", 0)
        np.testing.assert_array_equal(run_conv(case), fast)


@pytest.mark.parametrize("x_value, w_value", [
    (INT8.min, INT8.min), (INT8.min, INT8.max), (INT8.max, INT8.max),
])
def test_conv2d_int8_extreme_values_accumulate_without_saturation(
    x_value: int, w_value: int
) -> None:
    cin, cout, kernel, padding = 256, 2, (3, 3), (1, 1, 1, 1)
    x = np.full((2, 4, 4, cin), x_value, np.int8)
    w = np.full((*kernel, cin, cout), w_value, np.int8)
    expected = reference_conv2d(x, w, None, (1, 1), padding, (1, 1), 1)
    assert np.abs(expected).max() > INT16.max  # the test must exceed a 16-bit accumulator
    actual = ops.conv2d(x, w, padding=padding)
    np.testing.assert_array_equal(actual, expected.astype(np.int64))
    full_window = kernel[0] * kernel[1] * cin * int(x_value) * int(w_value)
    assert actual[0, 1, 1, 0] == full_window


@pytest.mark.parametrize("x_value, w_value", [(INT8.min, INT8.min), (INT8.min, INT8.max)])
def test_conv2d_int32_accumulator_wraps_around(x_value: int, w_value: int) -> None:
    cin = 2**31 // (int(INT8.min) ** 2) + 2**14  # enough products to pass 2**31
    x = np.full((1, 1, 1, cin), x_value, np.int8)
    w = np.full((1, 1, cin, 1), w_value, np.int8)
    exact = sum(a * b for a, b in zip(x.ravel().tolist(), w.ravel().tolist(), strict=True))
    assert not INT32.min <= exact <= INT32.max
    actual = ops.conv2d(x, w)
    assert actual.dtype == np.int32
    assert actual.item() == wrap_int32(np.array(exact, np.int64)).item() == wrap32(exact)


def test_conv2d_bias_wraps_around() -> None:
    x = np.full((1, 1, 1, 1), INT8.max, np.int8)
    w = np.full((1, 1, 1, 1), INT8.max, np.int8)
    bias = np.array([INT32.max], np.int32)
    exact = int(INT8.max) * int(INT8.max) + int(INT32.max)
    assert ops.conv2d(x, w, bias).item() == wrap32(exact)


def test_conv2d_padding_and_stride_forms_are_equivalent() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(INT8.min, INT8.max, (1, 7, 6, 4), endpoint=True).astype(np.int8)
    w = rng.integers(INT8.min, INT8.max, (3, 3, 4, 2), endpoint=True).astype(np.int8)
    full_form = ops.conv2d(x, w, stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1))
    np.testing.assert_array_equal(ops.conv2d(x, w, stride=2, padding=1, dilation=1), full_form)
    np.testing.assert_array_equal(ops.conv2d(x, w, stride=2, padding=(1, 1)), full_form)
    pair_form = ops.conv2d(x, w, padding=(2, 1))
    np.testing.assert_array_equal(pair_form, ops.conv2d(x, w, padding=(2, 2, 1, 1)))


def test_conv2d_depthwise_with_multiplier_matches_per_channel_convs() -> None:
    rng = np.random.default_rng(1)
    cin, multiplier = 3, 2
    x = rng.standard_normal((1, 5, 5, cin)).astype(np.float32)
    w = rng.standard_normal((3, 3, 1, cin * multiplier)).astype(np.float32)
    depthwise = ops.conv2d(x, w, padding=1, groups=cin)
    for oc in range(cin * multiplier):
        ic = oc // multiplier
        single = ops.conv2d(x[..., ic:ic + 1], w[..., oc:oc + 1], padding=1)
        np.testing.assert_array_equal(depthwise[..., oc:oc + 1], single)


# --- fully connected ---------------------------------------------------------------------------


def reference_fc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    xs, ws = x.tolist(), w.tolist()
    out = np.zeros((x.shape[0], w.shape[1]), dtype=object)
    for n in range(x.shape[0]):
        for o in range(w.shape[1]):
            total = 0 if bias is None else bias.tolist()[o]
            for i in range(w.shape[0]):
                total += xs[n][i] * ws[i][o]
            out[n, o] = total
    return out


@st.composite
def fc_cases(draw: st.DrawFn, dtype: type) -> tuple:
    batch, features, outputs = (draw(st.integers(1, n)) for n in (3, 8, 5))
    x = draw(tensors(dtype, (batch, features)))
    w = draw(tensors(dtype, (features, outputs)))
    return x, w, optional_bias(draw, dtype, outputs), draw(st.booleans())


@SETTINGS
@given(fc_cases(np.int8))
def test_fully_connected_int8(case: tuple) -> None:
    x, w, bias, as_4d = case
    actual = ops.fully_connected(x.reshape(x.shape[0], 1, 1, -1) if as_4d else x, w, bias)
    assert actual.dtype == np.int32
    expected = np.vectorize(wrap32, otypes=[np.int64])(reference_fc(x, w, bias))
    np.testing.assert_array_equal(actual, expected)


@SETTINGS
@given(fc_cases(np.float32))
def test_fully_connected_float32(case: tuple) -> None:
    x, w, bias, as_4d = case
    actual = ops.fully_connected(x.reshape(x.shape[0], 1, 1, -1) if as_4d else x, w, bias)
    assert_float32_close(actual, reference_fc(x, w, bias), w.shape[0] * 2.0 * 2.0 + 2.0)


# --- pooling -----------------------------------------------------------------------------------


@st.composite
def pool_cases(draw: st.DrawFn, dtype: type) -> dict:
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, kernel[axis] - 1)) for axis in (0, 0, 1, 1))
    height = draw(st.integers(max(1, kernel[0] - padding[0] - padding[1]), kernel[0] + 4))
    width = draw(st.integers(max(1, kernel[1] - padding[2] - padding[3]), kernel[1] + 4))
    x = draw(tensors(dtype, (draw(st.integers(1, 2)), height, width, draw(st.integers(1, 3)))))
    return dict(x=x, kernel=kernel, stride=stride, padding=padding)


def reference_windows(case: dict) -> np.ndarray:
    """Object array (N, OH, OW, C) of lists: the unpadded input values under each window."""
    x, kernel, padding = case["x"], case["kernel"], case["padding"]
    stride = case["stride"] or kernel
    xs = x.tolist()
    batch, height, width, channels = x.shape
    top, bottom, left, right = padding
    out_h = (height + top + bottom - kernel[0]) // stride[0] + 1
    out_w = (width + left + right - kernel[1]) // stride[1] + 1
    out = np.empty((batch, out_h, out_w, channels), dtype=object)
    for n in range(batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for c in range(channels):
                    out[n, oy, ox, c] = [
                        xs[n][iy][ix][c]
                        for iy in range(oy * stride[0] - top, oy * stride[0] - top + kernel[0])
                        for ix in range(ox * stride[1] - left, ox * stride[1] - left + kernel[1])
                        if in_range(iy, height) and in_range(ix, width)
                    ]
    return out


def run_pool(op: Callable[..., np.ndarray], case: dict) -> np.ndarray:
    return op(case["x"], kernel=case["kernel"], stride=case["stride"], padding=case["padding"])


@SETTINGS
@given(st.sampled_from([np.int8, np.float32]).flatmap(pool_cases))
def test_max_pool2d(case: dict) -> None:
    expected = np.vectorize(max, otypes=[np.float64])(reference_windows(case))
    actual = run_pool(ops.max_pool2d, case)
    assert actual.dtype == case["x"].dtype
    np.testing.assert_array_equal(actual, expected)


@SETTINGS
@given(pool_cases(np.int8))
def test_avg_pool2d_int8_rounds_half_away_from_zero(case: dict) -> None:
    expected = np.vectorize(int_mean, otypes=[np.int64])(reference_windows(case))
    actual = run_pool(ops.avg_pool2d, case)
    assert actual.dtype == np.int8
    np.testing.assert_array_equal(actual, expected)


@SETTINGS
@given(pool_cases(np.float32))
def test_avg_pool2d_float32_excludes_padding(case: dict) -> None:
    expected = np.vectorize(float_mean, otypes=[np.float64])(reference_windows(case))
    assert_float32_close(run_pool(ops.avg_pool2d, case), expected, 2.0)


def test_avg_pool2d_int8_ties_round_away_from_zero() -> None:
    low = np.arange(INT8.min, INT8.max, dtype=np.int8)  # every pair (v, v + 1): mean v + 1/2
    x = np.stack([low, low + 1], axis=-1).reshape(1, -1, 2, 1)
    expected = np.where(low >= 0, low.astype(np.int64) + 1, low)
    actual = ops.avg_pool2d(x, kernel=(1, 2))
    np.testing.assert_array_equal(actual.ravel(), expected)


@st.composite
def global_pool_inputs(draw: st.DrawFn, dtype: type) -> np.ndarray:
    shape = tuple(draw(st.integers(1, n)) for n in (2, 5, 5, 3))
    return draw(tensors(dtype, shape))


@SETTINGS
@given(st.sampled_from([np.int8, np.float32]).flatmap(global_pool_inputs))
def test_global_avg_pool2d(x: np.ndarray) -> None:
    windows = reference_windows(dict(x=x, kernel=x.shape[1:3], stride=None, padding=(0, 0, 0, 0)))
    actual = ops.global_avg_pool2d(x)
    assert actual.shape == (x.shape[0], 1, 1, x.shape[3])
    assert actual.dtype == x.dtype
    if x.dtype == np.int8:
        np.testing.assert_array_equal(actual, np.vectorize(int_mean, otypes=[np.int64])(windows))
    else:
        expected = np.vectorize(float_mean, otypes=[np.float64])(windows)
        assert_float32_close(actual, expected, 2.0)


# --- elementwise -------------------------------------------------------------------------------

FLOAT32_HALF_MAX = float(np.finfo(np.float32).max) / 2  # sums of two stay finite
wide_floats = st.floats(-FLOAT32_HALF_MAX, FLOAT32_HALF_MAX, width=32)
shapes = st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))


@SETTINGS
@given(shapes.flatmap(lambda shape: st.tuples(
    arrays(np.int8, shape, elements=int8_values), arrays(np.int8, shape, elements=int8_values))))
def test_add_int8_saturates(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    expected = [min(max(p + q, int(INT8.min)), int(INT8.max))
                for p, q in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True)]
    actual = ops.add(a, b)
    assert actual.dtype == np.int8
    np.testing.assert_array_equal(actual.ravel(), expected)


@SETTINGS
@given(shapes.flatmap(lambda shape: st.tuples(
    arrays(np.float32, shape, elements=wide_floats),
    arrays(np.float32, shape, elements=wide_floats))))
def test_add_float32(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    # A float64 sum of two float32 values rounded to float32 is the correctly rounded float32 sum.
    expected = np.array([p + q for p, q in zip(a.ravel().tolist(), b.ravel().tolist(),
                                               strict=True)]).astype(np.float32)
    actual = ops.add(a, b)
    assert actual.dtype == np.float32
    np.testing.assert_array_equal(actual.ravel(), expected)


@SETTINGS
@given(shapes.flatmap(lambda shape: arrays(np.float32, shape, elements=wide_floats)))
def test_relu_and_relu6(x: np.ndarray) -> None:
    values = x.ravel().tolist()
    relu, relu6 = ops.relu(x), ops.relu6(x)
    assert relu.dtype == relu6.dtype == np.float32
    np.testing.assert_array_equal(relu.ravel(), [max(v, 0.0) for v in values])
    np.testing.assert_array_equal(relu6.ravel(), [min(max(v, 0.0), 6.0) for v in values])


@SETTINGS
@given(shapes.flatmap(lambda shape: arrays(np.int8, shape, elements=int8_values)),
       st.lists(int8_values, min_size=2, max_size=2).map(sorted))
def test_clamp_int8(x: np.ndarray, bounds: list[int]) -> None:
    lo, hi = bounds
    actual = ops.clamp(x, lo, hi)
    assert actual.dtype == np.int8
    np.testing.assert_array_equal(actual.ravel(), [min(max(v, lo), hi) for v in x.ravel().tolist()])


def test_clamp_float32() -> None:
    x = np.linspace(-8, 8, 33, dtype=np.float32)
    np.testing.assert_array_equal(ops.clamp(x, 0.0, 6.0), ops.relu6(x))


# --- errors ------------------------------------------------------------------------------------


def zeros(shape: tuple[int, ...], dtype: type = np.int8) -> np.ndarray:
    return np.zeros(shape, dtype)


@pytest.mark.parametrize("x_dtype, w_dtype", [
    (np.int8, np.float32), (np.float32, np.int8), (np.float64, np.float64), (np.int16, np.int16),
    (np.uint8, np.int8),
])
def test_conv2d_rejects_dtypes(x_dtype: type, w_dtype: type) -> None:
    with pytest.raises(TypeError, match="all float32 or all int8"):
        ops.conv2d(zeros((1, 3, 3, 2), x_dtype), zeros((1, 1, 2, 2), w_dtype))


@pytest.mark.parametrize("x_shape, w_shape, groups, message", [
    ((3, 3, 2), (1, 1, 2, 2), 1, r"input must be \(N, H, W, C\)"),
    ((1, 3, 3, 2), (1, 2, 2), 1, r"weights must be \(kh, kw, cin/groups, cout\)"),
    ((1, 3, 3, 3), (1, 1, 1, 4), 2, "input channels 3 are not divisible by groups 2"),
    ((1, 3, 3, 4), (1, 1, 2, 3), 2, "output channels 3 are not divisible by groups 2"),
    ((1, 3, 3, 4), (1, 1, 4, 4), 2, "weights have 4 input channels per group"),
    ((1, 3, 3, 4), (1, 1, 4, 4), 0, "groups must be a positive integer"),
    ((1, 2, 2, 1), (3, 3, 1, 1), 1, "does not fit the padded input 2x2"),
])
def test_conv2d_rejects_shapes(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], groups: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ops.conv2d(zeros(x_shape), zeros(w_shape), groups=groups)


@pytest.mark.parametrize("arguments, message", [
    (dict(stride=0), "stride must be a positive integer or a pair"),
    (dict(stride=(1, 1, 1)), "stride must be a positive integer or a pair"),
    (dict(dilation=(1, 0)), "dilation must be a positive integer or a pair"),
    (dict(padding=-1), "padding must be a non-negative integer"),
    (dict(padding=(1, 1, 1)), "padding must be a non-negative integer"),
    (dict(padding=1.5), "padding must be a non-negative integer"),
])
def test_conv2d_rejects_geometry(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ops.conv2d(zeros((1, 3, 3, 1)), zeros((1, 1, 1, 1)), **arguments)


def test_conv2d_rejects_bias() -> None:
    x, w = zeros((1, 3, 3, 1)), zeros((1, 1, 1, 2))
    with pytest.raises(TypeError, match="bias must be int32 for int8 operands, not int64"):
        ops.conv2d(x, w, np.zeros(2, np.int64))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\), not \(3,\)"):
        ops.conv2d(x, w, np.zeros(3, np.int32))
    with pytest.raises(TypeError, match="bias must be float32 for float32 operands"):
        ops.conv2d(x.astype(np.float32), w.astype(np.float32), np.zeros(2, np.int32))


def test_fully_connected_rejects_shapes() -> None:
    with pytest.raises(ValueError, match="has 3 features but the weights expect 4"):
        ops.fully_connected(zeros((2, 3)), zeros((4, 5)))
    with pytest.raises(ValueError, match=r"input must be \(N, in\) or \(N, 1, 1, in\)"):
        ops.fully_connected(zeros((2, 2, 2, 3)), zeros((12, 5)))
    with pytest.raises(TypeError, match="all float32 or all int8"):
        ops.fully_connected(zeros((2, 3)), zeros((3, 5), np.float32))


@pytest.mark.parametrize("op", [ops.max_pool2d, ops.avg_pool2d])
def test_pooling_rejects_arguments(op: Callable[..., np.ndarray]) -> None:
    x = zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match="must be smaller than the kernel"):
        op(x, kernel=2, padding=(2, 0, 0, 0))
    with pytest.raises(ValueError, match="kernel .5, 5. does not fit the padded input 4x4"):
        op(x, kernel=5)
    with pytest.raises(ValueError, match="kernel must be a positive integer or a pair"):
        op(x, kernel=0)
    with pytest.raises(TypeError, match="all float32 or all int8"):
        op(x.astype(np.float64), kernel=2)


def test_elementwise_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        ops.add(zeros((1, 2, 2, 1)), zeros((1, 2, 2, 2)))
    with pytest.raises(TypeError, match="all float32 or all int8"):
        ops.add(zeros((1, 2)), zeros((1, 2), np.float32))
    with pytest.raises(TypeError, match="relu needs a float32 tensor, not int8; use clamp"):
        ops.relu(zeros((1, 2)))
    with pytest.raises(TypeError, match="relu6 needs a float32 tensor"):
        ops.relu6(zeros((1, 2)))
    with pytest.raises(ValueError, match="int8 clamp bounds must be integers in"):
        ops.clamp(zeros((1, 2)), 0, 200)
    with pytest.raises(ValueError, match="clamp needs lo <= hi"):
        ops.clamp(zeros((1, 2)), 5, 0)
    with pytest.raises(ValueError, match=r"global_avg_pool2d input must be \(N, H, W, C\)"):
        ops.global_avg_pool2d(zeros((2, 2, 2)))
