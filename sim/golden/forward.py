"""Whole-network forward pass with seeded random weights, in fp32 or int8.

The weights are inference-time weights: batch-norm is folded into the convolution's weights and
bias, as deployed accelerators run it. For int8 every conv and FC layer has int8 weights, an int32
bias and a fixed-point requantization (multiplier, shift) to int8 outputs with zero point 0. The
requantization scales are calibrated on a seeded input so activations keep a useful spread
(a standard deviation of about 32 levels) through the whole network, which keeps random networks
numerically interesting rather than saturated or all zero.

In int8, ReLU clamps at 0 and ReLU6 clamps to [0, 127]: with an output scale of 6/127 per level,
ReLU6's upper bound is exactly the int8 maximum (the usual way TFLite fuses it). Sigmoid,
hardsigmoid, hardswish and SiLU follow :mod:`sim.golden.activations` (inputs at 1/16 per level,
gates written at 1/128); ``mul``, ``lrn`` and the data-movement kinds follow
:mod:`sim.golden.tensor_ops`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.dtypes import DType
from sim.golden import activations, ops, tensor_ops
from sim.golden.quant import quantize_multiplier, requantize
from sim.workload.layers import (
    Activation,
    Add,
    AvgPool2d,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    FullyConnected,
    GlobalAvgPool,
    LocalResponseNorm,
    MaxPool2d,
    Mul,
)
from sim.workload.network import INPUT, LayerInfo, Network

SUPPORTED = (DType.FP32, DType.INT8)
INT8_TARGET_STD = 32.0  # spread of int8 activations the requantization aims for, in levels


@dataclass(frozen=True)
class LayerWeights:
    """Weights of one conv or FC layer.

    ``weight``: conv (kh, kw, cin/groups, cout) or FC (in, out); float32 or int8.
    ``bias``: (cout,) float32 or int32. ``multiplier``/``shift``: int8 requantization only.
    """

    weight: np.ndarray
    bias: np.ndarray
    multiplier: int = 0
    shift: int = 0


def _check_dtype(dtype: DType | str) -> DType:
    dtype = DType(dtype)
    if dtype not in SUPPORTED:
        raise ValueError(f"golden forward supports {', '.join(SUPPORTED)}, not {dtype}")
    return dtype


def random_weights(network: Network, dtype: DType | str, seed: int = 0) -> dict[str, LayerWeights]:
    """Seeded random weights for every conv and FC layer, keyed by layer name.

    fp32: He-normal weights and small normal biases. int8: uniform int8 weights; each layer's
    bias and requantization scale are calibrated on a seeded random input, layer by layer (as
    post-training quantization does with real data): the bias spans a quarter of the
    accumulator's spread and the scale maps that spread to ``INT8_TARGET_STD`` levels.
    """
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)
    if dtype is DType.FP32:
        weights = {}
        for info in network.infos:
            shape = _weight_shape(info)
            if shape is not None:
                fan_in = math.prod(shape[:-1])
                weight = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
                bias = rng.normal(0.0, 0.1, size=shape[-1]).astype(np.float32)
                weights[info.name] = LayerWeights(weight, bias)
        return weights
    return _calibrated_int8_weights(network, rng, random_input(network, dtype, seed=seed))


def _calibrated_int8_weights(network: Network, rng: np.random.Generator, x: np.ndarray
                             ) -> dict[str, LayerWeights]:
    weights: dict[str, LayerWeights] = {}
    tensors: dict[str, np.ndarray] = {INPUT: x}
    for info in network.infos:
        shape = _weight_shape(info)
        inputs = [tensors[name] for name in info.inputs]
        if shape is not None:
            weight = rng.integers(-128, 128, size=shape, dtype=np.int8)
            probe = LayerWeights(weight, np.zeros(shape[-1], np.int32), 1, 1)
            accumulated = _accumulate(info, inputs, probe)
            spread = max(float(np.std(accumulated.astype(np.float64))), 1.0)
            limit = max(1, int(spread / 4))
            bias = rng.integers(-limit, limit + 1, size=shape[-1], dtype=np.int32)
            multiplier, shift = quantize_multiplier(INT8_TARGET_STD / spread)
            weights[info.name] = LayerWeights(weight, bias, multiplier, shift)
        tensors[info.name] = run_layer(info, inputs, weights.get(info.name), DType.INT8)
    return weights


def _weight_shape(info: LayerInfo) -> tuple[int, ...] | None:
    layer = info.layer
    if isinstance(layer, FullyConnected):
        return (info.input_shapes[0].elements, layer.out_features)
    geometry = getattr(layer, "geometry", None)
    if geometry is None:
        return None
    return geometry(info.input_shapes[0].channels).weight_shape


def random_input(network: Network, dtype: DType | str, batch: int = 1, seed: int = 0) -> np.ndarray:
    """A seeded random NHWC input batch: N(0, 1) float32, or uniform int8."""
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)
    shape = (batch, *network.input_shape.as_tuple())
    if dtype is DType.FP32:
        return rng.standard_normal(shape).astype(np.float32)
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def run_layer(
    info: LayerInfo, inputs: list[np.ndarray], weights: LayerWeights | None, dtype: DType | str,
    padding: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Apply one layer to its input tensors (NHWC) with the golden ops.

    ``padding`` (top, bottom, left, right) replaces the layer's own padding; patch-based and
    tiled execution use it to pad only where a region touches the border of the whole map (a
    ceil-mode pool's overhang included, so ceil mode is then off).
    """
    dtype = _check_dtype(dtype)
    layer = info.layer
    if isinstance(layer, MaxPool2d):
        return ops.max_pool2d(inputs[0], kernel=layer.kernel, stride=layer.stride,
                              padding=layer.padding if padding is None else padding,
                              ceil_mode=layer.ceil_mode and padding is None)
    if isinstance(layer, AvgPool2d):
        return ops.avg_pool2d(inputs[0], kernel=layer.kernel, stride=layer.stride,
                              padding=layer.padding if padding is None else padding,
                              ceil_mode=layer.ceil_mode and padding is None)
    if isinstance(layer, GlobalAvgPool):
        return ops.global_avg_pool2d(inputs[0])
    if isinstance(layer, Add):
        total = inputs[0]
        for other in inputs[1:]:
            total = ops.add(total, other)
        return activate(total, layer.activation, dtype)
    moved = _data_movement(info, inputs)
    if moved is not None:
        return moved
    if isinstance(layer, Mul):
        return activate(tensor_ops.mul(inputs[0], inputs[1]), layer.activation, dtype)
    if weights is None:
        raise ValueError(f"layer {info.name!r} needs weights")
    accumulated = _accumulate(info, inputs, weights, padding)
    out = requantized(accumulated, weights, dtype).reshape(-1, *info.output_shape.as_tuple()) \
        if isinstance(layer, FullyConnected) else requantized(accumulated, weights, dtype)
    return activate(out, layer.activation, dtype)  # type: ignore[attr-defined]


def _data_movement(info: LayerInfo, inputs: list[np.ndarray]) -> np.ndarray | None:
    """The output of a concat, slice, shuffle or LRN layer; None for other kinds."""
    layer = info.layer
    if isinstance(layer, Concat):
        return tensor_ops.concat(inputs)
    if isinstance(layer, ChannelSlice):
        return tensor_ops.channel_slice(inputs[0], layer.start, layer.stop)
    if isinstance(layer, ChannelShuffle):
        return tensor_ops.channel_shuffle(inputs[0], layer.groups)
    if isinstance(layer, LocalResponseNorm):
        return tensor_ops.local_response_norm(inputs[0], layer.size, layer.alpha, layer.beta,
                                              layer.bias)
    return None


def _accumulate(info: LayerInfo, inputs: list[np.ndarray], weights: LayerWeights,
                padding: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Sum of products plus bias of a conv or FC layer (int32 for int8, float32 for fp32)."""
    layer = info.layer
    if isinstance(layer, FullyConnected):
        flat = inputs[0].reshape(inputs[0].shape[0], -1)
        return ops.fully_connected(flat, weights.weight, weights.bias)
    geometry = layer.geometry(info.input_shapes[0].channels)  # type: ignore[attr-defined]
    return ops.conv2d(
        inputs[0], weights.weight, weights.bias, stride=geometry.stride,
        padding=geometry.padding if padding is None else padding, dilation=geometry.dilation,
        groups=geometry.groups,
    )


def requantized(accumulated: np.ndarray, weights: LayerWeights, dtype: DType) -> np.ndarray:
    if dtype is DType.FP32:
        return accumulated
    return requantize(accumulated, weights.multiplier, weights.shift)


def activate(x: np.ndarray, activation: Activation, dtype: DType) -> np.ndarray:
    if activation is Activation.NONE:
        return x
    if activation not in (Activation.RELU, Activation.RELU6):
        return activations.apply(str(activation), x)
    if dtype is DType.FP32:
        return ops.relu(x) if activation is Activation.RELU else ops.relu6(x)
    return ops.clamp(x, 0, 127)


def forward(
    network: Network, x: np.ndarray, weights: dict[str, LayerWeights], dtype: DType | str,
    keep: str = "output",
) -> dict[str, np.ndarray]:
    """Run the network on ``x`` (N, H, W, C).

    ``keep="output"`` returns ``{output name: tensor}``; ``keep="all"`` returns every tensor,
    the input included, keyed by name.
    """
    expected = network.input_shape.as_tuple()
    if x.ndim != 4 or x.shape[1:] != expected:
        raise ValueError(f"input must be (N, {', '.join(map(str, expected))}), not {x.shape}")
    kept: dict[str, np.ndarray] = {}
    output = run_rest(network, 0, {INPUT: x}, weights, dtype,
                      kept if keep == "all" else None)
    if keep == "all":
        return {INPUT: x, **kept}
    return {network.output_name: output}


def run_rest(
    network: Network, start: int, tensors: dict[str, np.ndarray],
    weights: dict[str, LayerWeights], dtype: DType | str,
    kept: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Run layers ``start``.. to the end, given the live ``tensors`` they need; returns the output.

    Tensors are released after their last use; every produced tensor is also stored in ``kept``
    when it is given.
    """
    dtype = _check_dtype(dtype)
    tensors = dict(tensors)
    for info in network.infos[start:]:
        out = run_layer(info, [tensors[name] for name in info.inputs], weights.get(info.name),
                        dtype)
        tensors[info.name] = out
        if kept is not None:
            kept[info.name] = out
        for name in set(info.inputs):
            if network.last_use(name) == info.index:
                del tensors[name]
    return tensors[network.output_name]
