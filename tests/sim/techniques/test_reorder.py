"""Bottleneck reordering: same output as the standard block, memory independent of t (Eq. 3)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.dtypes import DType
from sim.golden.forward import forward, random_input, random_weights
from sim.peak import layerwise_peak
from sim.techniques.reorder import (
    find_bottlenecks,
    reordered_block_bytes,
    reordered_peak,
    run_reordered_block,
)
from sim.workload.layers import Shape
from sim.workload.network import Network
from sim.workload.zoo import inverted_residual, lightweight_cnn, mobilenet_v2


def block_network(size: int, cin: int, cout: int, stride: int, t: int) -> Network:
    return Network("block", Shape(size, size, cin), inverted_residual("b", "input", cin, cout,
                                                                      stride, t))


@given(size=st.integers(3, 12), cin=st.integers(1, 6), cout=st.integers(1, 6),
       stride=st.sampled_from([1, 2]), t=st.integers(2, 6), residual=st.booleans(),
       seed=st.integers(0, 1000))
@settings(max_examples=60, deadline=None)
def test_reordered_block_equals_standard_block_int8(size, cin, cout, stride, t, residual, seed):
    if residual:
        cout, stride = cin, 1
    network = block_network(size, cin, cout, stride, t)
    (block,) = find_bottlenecks(network)
    assert (block.add is not None) == (stride == 1 and cin == cout)
    weights = random_weights(network, "int8", seed=seed)
    x = random_input(network, "int8", batch=2, seed=seed + 1)
    expected = forward(network, x, weights, "int8")[network.output_name]
    np.testing.assert_array_equal(run_reordered_block(block, x, weights, "int8"), expected)


@given(size=st.integers(3, 10), cin=st.integers(1, 5), t=st.integers(2, 6),
       seed=st.integers(0, 1000))
@settings(max_examples=25, deadline=None)
def test_reordered_block_matches_standard_block_fp32(size, cin, t, seed):
    network = block_network(size, cin, cin, 1, t)
    (block,) = find_bottlenecks(network)
    weights = random_weights(network, "fp32", seed=seed)
    x = random_input(network, "fp32", seed=seed)
    expected = forward(network, x, weights, "fp32")[network.output_name]
    np.testing.assert_allclose(run_reordered_block(block, x, weights, "fp32"), expected,
                               rtol=1e-5, atol=1e-5)


def test_block_peak_is_the_same_for_t_2_4_6_8():
    # Seed 001 Table 3: the peak does not change with the expansion ratio t.
    for dtype in ("int8", "fp32"):
        peaks = {reordered_peak(block_network(28, 32, 32, 1, t), dtype).peak_bytes
                 for t in (2, 4, 6, 8)}
        assert len(peaks) == 1


def test_reordering_pays_off_once_the_expansion_outgrows_the_accumulator():
    # In int8 the int32 projection accumulator (4 bytes per output element) costs more than it
    # saves at t = 2; from t = 4 on the expansion it avoids is larger.
    def peaks(t):
        network = block_network(28, 32, 32, 1, t)
        return (layerwise_peak(network, "int8").peak_bytes,
                reordered_peak(network, "int8").peak_bytes)

    layerwise, reordered = peaks(2)
    assert reordered > layerwise
    for t in (4, 6, 8):
        layerwise, reordered = peaks(t)
        assert reordered < layerwise


def test_eq3_terms_by_hand():
    # 28x28x32 in, stride 2, 64 out: input + one 28x28 expand channel + one 14x14 depthwise
    # channel + 14x14x64 output.
    (block,) = find_bottlenecks(block_network(28, 32, 64, 2, 6))
    sizes = reordered_block_bytes(block, DType.INT8)
    assert sizes["eq3"] == 28 * 28 * 32 + 28 * 28 + 14 * 14 + 14 * 14 * 64
    # The projection sums over all expansion channels, so int8 needs an int32 accumulator.
    assert sizes["total"] == 28 * 28 * 32 + 28 * 28 + 14 * 14 + 14 * 14 * 64 * 4
    fp32 = reordered_block_bytes(block, DType.FP32)
    assert fp32["total"] == fp32["eq3"] == 4 * (28 * 28 * 32 + 28 * 28 + 14 * 14 + 14 * 14 * 64)


def test_mobilenet_has_16_reorderable_blocks_and_a_lower_peak():
    network = mobilenet_v2()
    blocks = find_bottlenecks(network)
    assert len(blocks) == 16  # b2..b17; b1 has no expansion
    assert sum(block.add is not None for block in blocks) == 10
    assert reordered_peak(network, "int8").peak_bytes < layerwise_peak(network, "int8").peak_bytes


def test_reordered_peak_keeps_tensors_live_outside_the_block():
    network = lightweight_cnn()
    report = reordered_peak(network, "int8")
    names = [layer.name for layer in report.per_layer]
    assert "b5[reordered]" in names and "b5_expand" not in names
