"""Datasets bundled with scikit-learn (read from the installed package, never downloaded).

* ``digits``: 1,797 grey images of 8x8 pixels (values 0..16, scaled to 0..1), 10 classes.
* ``breast_cancer``: 569 rows of 30 features, 2 classes (features standardized).
* ``wine``: 178 rows of 13 features, 3 classes (features standardized).

The split into train and test is a seeded shuffle; standardization uses the training rows'
mean and std only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

DatasetName = Literal["digits", "breast_cancer", "wine"]
DATASETS: tuple[DatasetName, ...] = ("digits", "breast_cancer", "wine")


@dataclass(frozen=True)
class Dataset:
    """Train/test arrays: features float32 (N, F) or images float32 NHWC, labels int64 (N,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(H, W, C) for image datasets, None for tabular ones."""
        shape = self.x_train.shape[1:]
        return (shape[0], shape[1], shape[2]) if len(shape) == 3 else None

    @property
    def features(self) -> int:
        """Input values per sample."""
        return int(np.prod(self.x_train.shape[1:]))


def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "digits":
        bunch = datasets.load_digits()
        return bunch.images.astype(np.float32)[..., None] / np.float32(16.0), bunch.target
    if name == "breast_cancer":
        bunch = datasets.load_breast_cancer()
    elif name == "wine":
        bunch = datasets.load_wine()
    else:
        raise ValueError(f"unknown dataset {name!r} (allowed: {', '.join(DATASETS)})")
    return bunch.data.astype(np.float32), bunch.target


def load_dataset(name: str, *, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Load a bundled dataset and split it: ``test_fraction`` of the rows (rounded) for testing."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), not {test_fraction}")
    x, y = _raw(name)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = max(1, round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    x_train, x_test = x[train], x[test]
    if x.ndim == 2:
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
        std[std == 0] = 1
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
    return Dataset(
        name=name, x_train=x_train.astype(np.float32), y_train=y[train].astype(np.int64),
        x_test=x_test.astype(np.float32), y_test=y[test].astype(np.int64),
        classes=int(y.max()) + 1,
    )
