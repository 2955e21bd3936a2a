"""Layer arithmetic: output sizes, parameters and MACs derived independently."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.workload.layers import (
    Add,
    AvgPool2d,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    LayerError,
    MaxPool2d,
    PointwiseConv2d,
    Shape,
)


def positions_that_fit(size: int, pad_before: int, pad_after: int, kernel: int, stride: int,
                       dilation: int) -> int:
    """Count window start positions by enumeration: the definition, not the formula."""
    padded = size + pad_before + pad_after
    last_tap = dilation * (kernel - 1)
    return sum(1 for start in range(0, padded, stride) if start + last_tap < padded)


@given(
    height=st.integers(1, 40), width=st.integers(1, 40), kernel=st.integers(1, 7),
    stride=st.integers(1, 4), dilation=st.integers(1, 3),
    padding=st.tuples(*[st.integers(0, 3)] * 4),
)
def test_conv_output_size_matches_enumeration(height, width, kernel, stride, dilation, padding):
    top, bottom, left, right = padding
    expected_h = positions_that_fit(height, top, bottom, kernel, stride, dilation)
    expected_w = positions_that_fit(width, left, right, kernel, stride, dilation)
    layer = Conv2d(name="c", out_channels=4, kernel=kernel, stride=stride, padding=padding,
                   dilation=dilation)
    if expected_h == 0 or expected_w == 0:
        with pytest.raises(LayerError, match="does not fit"):
            layer.output_shape([Shape(height, width, 2)])
    else:
        assert layer.output_shape([Shape(height, width, 2)]) == Shape(expected_h, expected_w, 4)


def test_grouped_conv_params_and_macs():
    layer = Conv2d(name="c", out_channels=32, kernel=3, padding=1, groups=4, bias=True,
                   batchnorm=False)
    shape = [Shape(10, 10, 16)]
    weights = 3 * 3 * (16 // 4) * 32
    assert layer.params(shape) == weights + 32
    assert layer.macs(shape) == 10 * 10 * weights


def test_batchnorm_adds_scale_and_shift_per_channel():
    with_bn = Conv2d(name="c", out_channels=8, kernel=1)
    without = Conv2d(name="c", out_channels=8, kernel=1, batchnorm=False)
    shape = [Shape(4, 4, 3)]
    assert with_bn.params(shape) - without.params(shape) == 2 * 8


def test_depthwise_with_multiplier():
    layer = DepthwiseConv2d(name="d", kernel=3, stride=2, padding=1, multiplier=2,
                            batchnorm=False)
    shape = [Shape(8, 8, 5)]
    assert layer.output_shape(shape) == Shape(4, 4, 10)
    assert layer.params(shape) == 3 * 3 * 1 * 10
    assert layer.macs(shape) == 4 * 4 * 10 * 9


def test_pointwise_is_a_1x1_conv():
    shape = [Shape(7, 7, 24)]
    pointwise = PointwiseConv2d(name="p", out_channels=40, stride=2)
    conv = Conv2d(name="c", out_channels=40, kernel=1, stride=2)
    assert pointwise.output_shape(shape) == conv.output_shape(shape) == Shape(4, 4, 40)
    assert pointwise.macs(shape) == conv.macs(shape) == 4 * 4 * 24 * 40


def test_fully_connected_flattens():
    layer = FullyConnected(name="fc", out_features=10)
    shape = [Shape(2, 3, 4)]
    assert layer.output_shape(shape) == Shape(1, 1, 10)
    assert layer.params(shape) == 24 * 10 + 10
    assert layer.macs(shape) == 240


def test_pools_and_add_have_no_params_or_macs():
    shape = [Shape(9, 9, 3)]
    assert MaxPool2d(name="m", kernel=3, stride=2, padding=1).output_shape(shape) == Shape(5, 5, 3)
    assert AvgPool2d(name="a", kernel=2).output_shape(shape) == Shape(4, 4, 3)
    assert GlobalAvgPool(name="g").output_shape(shape) == Shape(1, 1, 3)
    for layer in (MaxPool2d(name="m", kernel=2), GlobalAvgPool(name="g")):
        assert layer.params(shape) == layer.macs(shape) == 0
    assert Add(name="a").macs(shape * 2) == 0


def test_add_rejects_mismatched_shapes():
    with pytest.raises(LayerError, match="input shapes differ: 4x4x8, 4x4x16"):
        Add(name="a").output_shape([Shape(4, 4, 8), Shape(4, 4, 16)])


def test_groups_must_divide_channels():
    with pytest.raises(LayerError, match="input channels 6 are not divisible by groups 4"):
        Conv2d(name="c", out_channels=8, kernel=1, groups=4).output_shape([Shape(4, 4, 6)])


def test_pool_padding_at_most_half_the_kernel():
    with pytest.raises(LayerError, match="at most half the kernel"):
        MaxPool2d(name="m", kernel=2, padding=2).output_shape([Shape(8, 8, 1)])
