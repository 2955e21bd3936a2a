"""Whole-network forward pass: shapes, determinism, useful int8 spread, layer composition."""

import numpy as np
import pytest

from sim.golden import ops
from sim.golden.forward import forward, random_input, random_weights, run_layer
from sim.golden.quant import requantize
from sim.workload.layers import Activation, Add, Conv2d, FullyConnected, GlobalAvgPool, Shape
from sim.workload.network import Network
from sim.workload.zoo import ZOO


@pytest.mark.parametrize("name", sorted(ZOO))
@pytest.mark.parametrize("dtype", ["int8", "fp32"])
def test_every_tensor_has_the_shape_the_network_derives(name, dtype):
    network = ZOO[name].build(resolution=64 if name in ("mobilenet_v2", "resnet18") else 32)
    weights = random_weights(network, dtype, seed=0)
    tensors = forward(network, random_input(network, dtype, batch=2), weights, dtype, keep="all")
    assert set(tensors) == {"input", *(info.name for info in network.infos)}
    for info in network.infos:
        assert tensors[info.name].shape == (2, *info.output_shape.as_tuple())
        assert tensors[info.name].dtype == (np.int8 if dtype == "int8" else np.float32)


def test_int8_activations_keep_a_useful_spread():
    # The requantization scale is chosen from the fan-in; activations should neither vanish nor
    # saturate through a deep network.
    network = ZOO["mobilenet_v2"].build(resolution=96)
    tensors = forward(network, random_input(network, "int8"), random_weights(network, "int8"),
                      "int8", keep="all")
    for info in network.infos:
        if info.kind in ("conv2d", "pointwise", "depthwise"):
            values = tensors[info.name].astype(np.int32)
            assert values.std() > 2, info.name
            assert np.mean(np.abs(values) >= 127) < 0.25, info.name


def test_seeds_make_results_reproducible():
    network = ZOO["lightweight_cnn"].build()
    x = random_input(network, "int8", seed=5)
    first = forward(network, x, random_weights(network, "int8", seed=1), "int8")
    again = forward(network, x, random_weights(network, "int8", seed=1), "int8")
    other = forward(network, x, random_weights(network, "int8", seed=2), "int8")
    name = network.output_name
    np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first[name], other[name])


def test_forward_composes_the_ops_by_hand_int8():
    network = Network("tiny", Shape(6, 6, 3), [
        Conv2d(name="a", out_channels=4, kernel=3, padding=1, activation=Activation.RELU),
        Conv2d(name="b", out_channels=4, kernel=3, stride=2, padding=1),
        Conv2d(name="skip", inputs=("a",), out_channels=4, kernel=1, stride=2),
        Add(name="sum", inputs=("b", "skip"), activation=Activation.RELU6),
        GlobalAvgPool(name="pool"),
        FullyConnected(name="fc", out_features=5),
    ])
    w = random_weights(network, "int8", seed=3)
    x = random_input(network, "int8", seed=4)

    def conv(name, inp, stride, padding):
        acc = ops.conv2d(inp, w[name].weight, w[name].bias, stride=stride, padding=padding)
        return requantize(acc, w[name].multiplier, w[name].shift)

    a = ops.clamp(conv("a", x, 1, 1), 0, 127)
    total = ops.clamp(ops.add(conv("b", a, 2, 1), conv("skip", a, 2, 0)), 0, 127)
    pooled = ops.global_avg_pool2d(total).reshape(1, -1)
    logits = requantize(ops.fully_connected(pooled, w["fc"].weight, w["fc"].bias),
                        w["fc"].multiplier, w["fc"].shift)
    np.testing.assert_array_equal(forward(network, x, w, "int8")["fc"], logits.reshape(1, 1, 1, 5))


def test_run_layer_padding_override_changes_only_the_border():
    network = Network("one", Shape(5, 5, 2), [Conv2d(name="c", out_channels=2, kernel=3,
                                                     padding=1)])
    w = random_weights(network, "fp32", seed=0)
    x = random_input(network, "fp32", seed=0)
    info = network.infos[0]
    whole = run_layer(info, [x], w["c"], "fp32")
    # The interior 3x3 of the output needs rows/cols 0..4 with no padding at all.
    interior = run_layer(info, [x], w["c"], "fp32", padding=(0, 0, 0, 0))
    np.testing.assert_allclose(interior, whole[:, 1:4, 1:4, :], rtol=1e-6)


def test_input_shape_is_checked():
    network = ZOO["lightweight_cnn"].build()
    with pytest.raises(ValueError, match=r"input must be \(N, 32, 32, 3\)"):
        forward(network, np.zeros((1, 16, 16, 3), np.int8), {}, "int8")


def test_only_fp32_and_int8_are_supported():
    with pytest.raises(ValueError, match="golden forward supports"):
        random_weights(ZOO["lightweight_cnn"].build(), "fp16")
