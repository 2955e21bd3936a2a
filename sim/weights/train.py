"""Training with Adam on softmax cross-entropy, and test accuracy; deterministic for a seed.

Minibatches come from a seeded shuffle per epoch; all arithmetic is float32. Results repeat
exactly on one machine and NumPy build (the BLAS may order sums differently elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.weights.nets import Model, backward, forward_with_cache, logits


@dataclass(frozen=True)
class TrainOptions:
    """``epochs`` passes over the training set in minibatches of ``batch`` samples.

    ``learning_rate`` is Adam's step size (beta1 0.9, beta2 0.999, eps 1e-8).
    """

    epochs: int
    batch: int = 32
    learning_rate: float = 1e-3
    seed: int = 0


def cross_entropy_grad(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy (nats) and its gradient with respect to ``scores``."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    grad = exp / total
    grad[rows, labels] -= 1
    return loss, (grad / len(labels)).astype(np.float32)


def train(model: Model, x: np.ndarray, y: np.ndarray, options: TrainOptions) -> list[float]:
    """Train ``model`` in place; returns the mean training loss of each epoch (nats)."""
    rng = np.random.default_rng(options.seed)
    params = [p for layer in model.layers for p in (layer.weight, layer.bias)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    history = []
    for _ in range(options.epochs):
        order = rng.permutation(len(y))
        losses = []
        for start in range(0, len(y), options.batch):
            batch = order[start:start + options.batch]
            scores, cache = forward_with_cache(model, x[batch])
            loss, grad = cross_entropy_grad(scores, y[batch])
            losses.append(loss)
            grads = [g for pair in backward(model, cache, grad) for g in pair]
            step += 1
            correction1 = 1 - beta1**step
            correction2 = 1 - beta2**step
            for p, g, m, v in zip(params, grads, first, second, strict=True):
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                p -= (options.learning_rate / correction1 * m
                      / (np.sqrt(v / correction2) + eps)).astype(np.float32)
        history.append(float(np.mean(losses)))
    return history


def accuracy_pct(model: Model, x: np.ndarray, y: np.ndarray,
                 weights: Sequence[np.ndarray] | None = None) -> float:
    """Test accuracy in percent; ``weights`` replaces the weight tensors if given.

    Altered weights may overflow to inf or NaN; a sample whose scores are not all finite counts
    as wrong.
    """
    with np.errstate(all="ignore"):
        scores = logits(model, x, weights)
    finite = np.all(np.isfinite(scores), axis=1)
    predicted = np.argmax(np.where(np.isfinite(scores), scores, -np.inf), axis=1)
    return 100.0 * float(np.mean(finite & (predicted == y)))
