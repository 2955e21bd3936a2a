"""Small float32 networks in NumPy: an MLP and a CNN, with forward and backward passes.

Layout follows the project: images NHWC, conv weights (kh, kw, cin, cout), dense weights
(in, out). Every layer but the last is followed by ReLU; a CNN's last conv output is flattened
(C order, NHWC) before its dense classifier. Convolutions are 3x3 with zero padding 1, the first
at stride 1 and the others at stride 2, computed as one matrix product over an im2col matrix
whose columns run (kh, kw, cin), the order of the weight tensor. They match
:func:`sim.golden.ops.conv2d` to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KERNEL = 3
PADDING = 1


@dataclass
class Dense:
    """Fully connected layer: weight (in, out), bias (out,), float32."""

    name: str
    weight: np.ndarray
    bias: np.ndarray


@dataclass
class Conv:
    """3x3 convolution: weight (3, 3, cin, cout), bias (cout,), float32; ``stride`` in pixels."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    stride: int


Layer = Dense | Conv


@dataclass
class Model:
    """A chain of layers; ``input_shape`` is (features,) or (H, W, C)."""

    name: str
    input_shape: tuple[int, ...]
    layers: list[Layer]

    def weights(self) -> list[np.ndarray]:
        """The weight tensors (not the biases), in layer order."""
        return [layer.weight for layer in self.layers]

    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def weight_count(self) -> int:
        return sum(int(layer.weight.size) for layer in self.layers)

    def bias_count(self) -> int:
        return sum(int(layer.bias.size) for layer in self.layers)


def _he(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def mlp(name: str, features: int, hidden: Sequence[int], classes: int, *, seed: int) -> Model:
    """An MLP ``features -> hidden... -> classes`` with He-normal weights and zero biases."""
    rng = np.random.default_rng(seed)
    sizes = [features, *hidden, classes]
    layers: list[Layer] = [
        Dense(f"dense{i + 1}", _he(rng, (n_in, n_out), n_in), np.zeros(n_out, np.float32))
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    ]
    return Model(name, (features,), layers)


def cnn(name: str, image_shape: tuple[int, int, int], channels: Sequence[int], classes: int, *,
        seed: int) -> Model:
    """3x3 convs with ``channels`` outputs (stride 1, then 2, 2, ...) and a dense classifier."""
    rng = np.random.default_rng(seed)
    height, width, cin = image_shape
    layers: list[Layer] = []
    for i, cout in enumerate(channels):
        stride = 1 if i == 0 else 2
        weight = _he(rng, (KERNEL, KERNEL, cin, cout), KERNEL * KERNEL * cin)
        layers.append(Conv(f"conv{i + 1}", weight, np.zeros(cout, np.float32), stride))
        height = (height + 2 * PADDING - KERNEL) // stride + 1
        width = (width + 2 * PADDING - KERNEL) // stride + 1
        cin = cout
    flat = height * width * cin
    layers.append(Dense("dense1", _he(rng, (flat, classes), flat), np.zeros(classes, np.float32)))
    return Model(name, image_shape, layers)


def _out_size(size: int, stride: int) -> int:
    return (size + 2 * PADDING - KERNEL) // stride + 1


def im2col(x: np.ndarray, stride: int) -> np.ndarray:
    """(N, H, W, C) -> (N*OH*OW, 9*C) patches for a 3x3 kernel with padding 1."""
    n, height, width, channels = x.shape
    oh, ow = _out_size(height, stride), _out_size(width, stride)
    padded = np.pad(x, ((0, 0), (PADDING, PADDING), (PADDING, PADDING), (0, 0)))
    taps = [
        padded[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]
        for i in range(KERNEL) for j in range(KERNEL)
    ]
    return np.stack(taps, axis=3).reshape(n * oh * ow, KERNEL * KERNEL * channels)


def col2im(cols: np.ndarray, input_shape: tuple[int, ...], stride: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: sum patch gradients back into (N, H, W, C)."""
    n, height, width, channels = input_shape
    oh, ow = _out_size(height, stride), _out_size(width, stride)
    cols = cols.reshape(n, oh, ow, KERNEL * KERNEL, channels)
    padded = np.zeros((n, height + 2 * PADDING, width + 2 * PADDING, channels), cols.dtype)
    for tap in range(KERNEL * KERNEL):
        i, j = divmod(tap, KERNEL)
        padded[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :] += cols[:, :, :, tap]
    return padded[:, PADDING:PADDING + height, PADDING:PADDING + width, :]


def conv_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """3x3 convolution, padding 1: (N, H, W, cin) -> (N, OH, OW, cout), float32."""
    n, height, width, _ = x.shape
    out = im2col(x, stride) @ weight.reshape(-1, weight.shape[3]) + bias
    return out.reshape(n, _out_size(height, stride), _out_size(width, stride), weight.shape[3])


def logits(model: Model, x: np.ndarray, weights: Sequence[np.ndarray] | None = None
           ) -> np.ndarray:
    """Class scores (N, classes); ``weights`` replaces the model's weight tensors if given."""
    weights = model.weights() if weights is None else weights
    h = x
    last = len(model.layers) - 1
    for index, (layer, weight) in enumerate(zip(model.layers, weights, strict=True)):
        if isinstance(layer, Conv):
            h = conv_forward(h, weight, layer.bias, layer.stride)
        else:
            h = h.reshape(h.shape[0], -1) @ weight + layer.bias
        if index != last:
            h = np.maximum(h, 0)
    return h


def forward_with_cache(model: Model, x: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
    """Logits and, per layer, what the backward pass needs (its input and pre-activation)."""
    cache: list[tuple] = []
    h = x
    last = len(model.layers) - 1
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Conv):
            cols = im2col(h, layer.stride)
            pre = cols @ layer.weight.reshape(-1, layer.weight.shape[3]) + layer.bias
            n = h.shape[0]
            out_hw = (_out_size(h.shape[1], layer.stride), _out_size(h.shape[2], layer.stride))
            cache.append((h.shape, cols, pre))
            pre = pre.reshape(n, *out_hw, layer.weight.shape[3])
        else:
            flat = h.reshape(h.shape[0], -1)
            pre = flat @ layer.weight + layer.bias
            cache.append((h.shape, flat, pre))
        h = pre if index == last else np.maximum(pre, 0)
    return h, cache


def backward(model: Model, cache: list[tuple], grad_logits: np.ndarray
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Gradients (weight, bias) per layer, given d(loss)/d(logits)."""
    grads: list[tuple[np.ndarray, np.ndarray]] = []
    grad = grad_logits
    for index in range(len(model.layers) - 1, -1, -1):
        layer = model.layers[index]
        input_shape, inputs, pre = cache[index]
        grad = grad.reshape(pre.shape)
        if index != len(model.layers) - 1:
            grad = grad * (pre > 0)
        weight_matrix = layer.weight.reshape(-1, layer.weight.shape[-1])
        grads.append(((inputs.T @ grad).reshape(layer.weight.shape), grad.sum(axis=0)))
        if index == 0:
            break
        grad_inputs = grad @ weight_matrix.T
        if isinstance(layer, Conv):
            grad = col2im(grad_inputs, input_shape, layer.stride)
        else:
            grad = grad_inputs.reshape(input_shape)
    grads.reverse()
    return grads
