"""Bundled datasets: sizes, a disjoint seeded split, standardization from training rows."""

import numpy as np
import pytest

from sim.weights.datasets import load_dataset

# Row counts and shapes from scikit-learn's dataset documentation ("Toy datasets").
SIZES = {"digits": (1797, (8, 8, 1), 10), "breast_cancer": (569, (30,), 2),
         "wine": (178, (13,), 3)}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_sizes_and_split(name):
    rows, shape, classes = SIZES[name]
    data = load_dataset(name, test_fraction=0.25, seed=1)
    assert len(data.y_train) + len(data.y_test) == rows
    assert len(data.y_test) == round(rows * 0.25)
    assert data.x_train.shape[1:] == shape and data.classes == classes
    assert data.x_train.dtype == np.float32
    if len(shape) == 1:
        np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-4)
    else:
        assert data.x_train.min() >= 0 and data.x_train.max() <= 1


def test_split_is_seeded_and_disjoint():
    a = load_dataset("wine", seed=3)
    b = load_dataset("wine", seed=3)
    c = load_dataset("wine", seed=4)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.x_test, c.x_test)
    train_rows = {row.tobytes() for row in a.x_train}
    assert not any(row.tobytes() in train_rows for row in a.x_test)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("mnist")
