"""Weight augmentation: scalar addition, scalar multiplication, one-bit flips."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.weights.augment import bit_flip, scalar_add, scalar_multiply

weights = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=8),
                     elements=st.floats(-10, 10, width=32))
scalars = st.sampled_from([0.25, 0.4, 0.6, 0.85, 0.96, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0])


@given(w=weights, s=scalars)
def test_scalar_add_and_multiply_are_elementwise_float32(w, s):
    added = scalar_add(w, s)
    multiplied = scalar_multiply(w, s)
    assert added.dtype == multiplied.dtype == np.float32
    np.testing.assert_array_equal(added, w + np.float32(s))
    np.testing.assert_array_equal(multiplied, w * np.float32(s))


def test_multiplying_by_one_is_the_identity():
    w = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    np.testing.assert_array_equal(scalar_multiply(w, 1.0), w)


def _bit_differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diff = a.reshape(-1).view(np.uint32) ^ b.reshape(-1).view(np.uint32)
    return np.array([bin(int(d)).count("1") for d in diff])


@given(w=weights, fraction=st.sampled_from([0.25, 0.5, 1.0]), seed=st.integers(0, 1000))
def test_bit_flip_changes_exactly_one_bit_in_each_chosen_weight(w, fraction, seed):
    flipped = bit_flip(w, np.random.default_rng(seed), fraction)
    differences = _bit_differences(w, flipped)
    assert set(differences.tolist()) <= {0, 1}
    assert differences.sum() == round(w.size * fraction)
    again = bit_flip(w, np.random.default_rng(seed), fraction)
    np.testing.assert_array_equal(flipped.view(np.uint32), again.view(np.uint32))


def test_bit_flip_leaves_the_input_alone_and_reaches_every_bit_position():
    w = np.zeros(4096, np.float32)
    flipped = bit_flip(w, np.random.default_rng(1))
    np.testing.assert_array_equal(w, 0)
    positions = np.log2(flipped.view(np.uint32).astype(np.float64)).astype(int)
    assert set(positions.tolist()) == set(range(32))


def test_bit_flip_fraction_must_be_in_zero_one():
    with pytest.raises(ValueError, match="fraction"):
        bit_flip(np.ones(3, np.float32), np.random.default_rng(0), 0.0)
