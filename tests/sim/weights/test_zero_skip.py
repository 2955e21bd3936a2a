"""Zero skipping: counts, skipped MACs, stored size with a presence bitmap, pruning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.techniques.centralization import stored_weight_bytes
from sim.techniques.zero_skip import (
    METADATA_BYTES,
    bitmap_bytes,
    per_layer_zero_counts,
    prune,
    skipped_macs_fraction,
    zero_count,
    zero_mask,
    zero_skip_bytes,
)

# Weights with plenty of exact zeros and small values.
weights = hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=st.one_of(st.just(0.0), st.just(-0.0),
                       st.floats(-1, 1, width=32, allow_subnormal=False)),
)
thresholds = st.sampled_from([0.0, 0.01, 0.1, 0.5])


@given(w=weights, threshold=thresholds)
def test_zero_count_matches_an_element_by_element_count(w, threshold):
    expected = sum(1 for value in w.reshape(-1).tolist() if abs(value) <= threshold)
    assert zero_count(w, threshold) == expected
    assert skipped_macs_fraction(w, threshold) == expected / w.size


@given(w=weights, threshold=thresholds, dtype_bytes=st.sampled_from([1, 2, 4]))
def test_stored_bytes_are_nonzero_values_plus_bitmap_plus_metadata(w, threshold, dtype_bytes):
    kept = w.size - zero_count(w, threshold)
    bitmap = len(range(0, w.size, 8))  # one bit per weight, whole bytes
    expected = kept * dtype_bytes + bitmap + METADATA_BYTES
    assert bitmap_bytes(w.size) == bitmap
    assert zero_skip_bytes(w.size, kept, dtype_bytes) == expected
    scheme = "zero-skip" if threshold == 0 else f"zero-skip:{threshold}"
    assert stored_weight_bytes(w, scheme, dtype_bytes) == expected


@given(w=weights, threshold=thresholds, x=st.integers(0, 2**31))
@settings(deadline=None)
def test_skipping_the_zero_weights_macs_gives_the_pruned_layers_output(w, threshold, x):
    inputs = np.random.default_rng(x).standard_normal((3, w.shape[0])).astype(np.float64)
    pruned = prune(w, threshold).astype(np.float64)
    keep = ~zero_mask(w, threshold)
    performed = 0
    out = np.zeros((3, w.shape[1]))
    for i, j in zip(*np.nonzero(keep), strict=True):  # only the MACs that are not skipped
        out[:, j] += inputs[:, i] * pruned[i, j]
        performed += inputs.shape[0]
    np.testing.assert_allclose(out, inputs @ pruned, rtol=1e-12, atol=1e-12)
    all_macs = inputs.shape[0] * w.size
    assert performed == all_macs - round(skipped_macs_fraction(w, threshold) * all_macs)


def test_saving_starts_above_one_zero_in_eight_times_the_width():
    count = 8000
    for dtype_bytes in (1, 4):
        break_even = count // (8 * dtype_bytes)  # bitmap bytes = count / 8
        dense = count * dtype_bytes
        assert zero_skip_bytes(count, count - break_even, dtype_bytes) == dense + METADATA_BYTES
        extra = METADATA_BYTES // dtype_bytes + 1  # enough zeros to also pay for the header
        assert zero_skip_bytes(count, count - break_even - extra, dtype_bytes) < dense


def test_prune_zeroes_small_weights_and_keeps_dtype():
    w = np.array([[0.5, -0.005], [0.01, -2.0]], np.float32)
    got = prune(w, 0.01)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.where(np.abs(w) <= 0.01, 0, w))
    assert per_layer_zero_counts({"a": w}, 0.01) == {"a": (2, 4)}


def test_rejects_negative_thresholds_and_bad_counts():
    with pytest.raises(ValueError, match="threshold"):
        zero_mask(np.ones(2), -1.0)
    with pytest.raises(ValueError, match="nonzero"):
        zero_skip_bytes(4, 5, 1)
    with pytest.raises(ValueError, match="no MACs"):
        skipped_macs_fraction(np.zeros(0))
    assert zero_skip_bytes(0, 0, 4) == 0
