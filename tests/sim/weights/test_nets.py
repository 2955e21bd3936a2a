"""NumPy networks: the conv matches the golden conv2d, gradients match finite differences,
training is deterministic and learns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.golden.ops import conv2d
from sim.weights.datasets import load_dataset
from sim.weights.nets import (
    Conv,
    Dense,
    Model,
    backward,
    cnn,
    col2im,
    conv_forward,
    forward_with_cache,
    im2col,
    logits,
    mlp,
)
from sim.weights.train import TrainOptions, accuracy_pct, cross_entropy_grad, train


@given(n=st.integers(1, 2), h=st.integers(1, 7), w=st.integers(1, 7), cin=st.integers(1, 3),
       cout=st.integers(1, 4), stride=st.integers(1, 2), seed=st.integers(0, 99))
@settings(max_examples=40, deadline=None)
def test_conv_forward_matches_the_golden_conv2d(n, h, w, cin, cout, stride, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    weight = rng.standard_normal((3, 3, cin, cout)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    expected = conv2d(x, weight, bias, stride=stride, padding=1)
    np.testing.assert_allclose(conv_forward(x, weight, bias, stride), expected,
                               rtol=1e-5, atol=1e-5)


@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 3), stride=st.integers(1, 2),
       seed=st.integers(0, 99))
@settings(max_examples=30, deadline=None)
def test_col2im_is_the_adjoint_of_im2col(h, w, c, stride, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, c))
    cols = im2col(x, stride)
    y = rng.standard_normal(cols.shape)
    # <im2col(x), y> == <x, col2im(y)> for a linear map and its adjoint
    assert np.sum(cols * y) == pytest.approx(np.sum(x * col2im(y, x.shape, stride)), rel=1e-10)


def _float64(model: Model) -> Model:
    for layer in model.layers:
        layer.weight = layer.weight.astype(np.float64)
        layer.bias = np.random.default_rng(5).standard_normal(layer.bias.shape)
    return model


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_backward_matches_finite_differences(kind):
    rng = np.random.default_rng(0)
    if kind == "mlp":
        model = _float64(mlp("m", 5, [4, 3], 2, seed=1))
        x = rng.standard_normal((3, 5))
    else:
        model = _float64(cnn("c", (5, 4, 2), [3, 2], 2, seed=1))
        x = rng.standard_normal((3, 5, 4, 2))
    projection = rng.standard_normal((3, 2))  # loss = sum(logits * projection)
    _, cache = forward_with_cache(model, x)
    grads = backward(model, cache, projection)
    step = 1e-6
    for layer, (grad_w, grad_b) in zip(model.layers, grads, strict=True):
        for tensor, grad in ((layer.weight, grad_w), (layer.bias, grad_b)):
            flat = tensor.reshape(-1)
            for index in range(0, flat.size, max(1, flat.size // 7)):
                saved = flat[index]
                flat[index] = saved + step
                up = np.sum(logits(model, x) * projection)
                flat[index] = saved - step
                down = np.sum(logits(model, x) * projection)
                flat[index] = saved
                assert grad.reshape(-1)[index] == pytest.approx((up - down) / (2 * step),
                                                                rel=1e-5, abs=1e-7)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    scores = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    labels = np.array([1, 2])
    loss, grad = cross_entropy_grad(scores, labels)
    softmax = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    one_hot = np.eye(3)[labels]
    np.testing.assert_allclose(grad, (softmax - one_hot) / 2, rtol=1e-6)
    assert loss == pytest.approx(-np.mean(np.log(softmax[[0, 1], labels])), rel=1e-6)


def test_training_is_deterministic_and_beats_chance():
    data = load_dataset("digits", seed=0)
    x_train = data.x_train.reshape(len(data.y_train), -1)
    x_test = data.x_test.reshape(len(data.y_test), -1)
    runs = []
    for _ in range(2):
        model = mlp("m", data.features, [32], data.classes, seed=3)
        losses = train(model, x_train, data.y_train, TrainOptions(epochs=3, seed=4))
        runs.append((model, losses))
    (first, losses), (second, _) = runs
    for a, b in zip(first.weights(), second.weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert losses[-1] < losses[0]
    chance = 100 / data.classes
    assert accuracy_pct(first, x_test, data.y_test) > 2 * chance


def test_accuracy_counts_non_finite_scores_as_wrong():
    model = Model("m", (2,), [Dense("dense1", np.eye(2, dtype=np.float32),
                                    np.zeros(2, np.float32))])
    x = np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)
    y = np.array([0, 1])
    assert accuracy_pct(model, x, y) == 100.0
    # 2 * 3e38 overflows float32 to inf in the first sample only; the second stays right.
    broken = [np.array([[3e38, 0.0], [0.0, 1.0]], np.float32)]
    assert accuracy_pct(model, x, y, broken) == 50.0


def test_cnn_layers_and_shapes():
    model = cnn("c", (8, 8, 1), [4, 6], 10, seed=0)
    assert [type(layer) for layer in model.layers] == [Conv, Conv, Dense]
    assert [layer.stride for layer in model.layers[:2]] == [1, 2]
    # 8x8 -> 8x8 (stride 1) -> 4x4 (stride 2), 6 channels, flattened into the classifier
    assert model.layers[2].weight.shape == (4 * 4 * 6, 10)
    assert logits(model, np.zeros((2, 8, 8, 1), np.float32)).shape == (2, 10)
