"""The modern edge networks of the zoo against torchvision's model table (Params exact; the
table's GFLOPS column, which counts multiply-accumulates, rounded to 0.01 G), their YAML round
trip, and the golden ops of the kinds they use against brute-force loops."""

import numpy as np
import pytest

from sim.golden import ops, tensor_ops
from sim.peak import layerwise_peak
from sim.workload.io import dump_network, load_network
from sim.workload.layers import Concat, PointwiseConv2d, Shape
from sim.workload.network import Network
from sim.workload.zoo import ZOO

# torchvision model table: (params, GMACs as printed there).
TORCHVISION = {
    "mobilenet_v3_small": (2_542_856, 0.06),
    "mobilenet_v3_large": (5_483_032, 0.22),
    "efficientnet_b0": (5_288_548, 0.39),
    "squeezenet1_1": (1_235_496, 0.35),
    "shufflenet_v2_x1_0": (2_278_604, 0.14),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_params_and_macs_match_torchvision(name):
    network = ZOO[name].build()
    params, gmacs = TORCHVISION[name]
    assert network.total_params == params
    assert round(network.total_macs / 1e9, 2) == gmacs
    assert network.output_shape == Shape(1, 1, 1000)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_yaml_round_trip(tmp_path, name):
    network = ZOO[name].build()
    path = tmp_path / "net.yaml"
    path.write_text(dump_network(network))
    assert load_network(path) == network


def test_ceil_mode_max_pool_against_loops():
    """7x7 input, 3x3/2 ceil mode: ceil((7 - 3) / 2) + 1 = 3 windows per axis (floor gives 3
    too); 8x8 gives ceil(5 / 2) + 1 = 4 (floor: 3), the last window holding 2 x 2 elements."""
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2)).astype(np.float32)
    out = ops.max_pool2d(x, kernel=3, stride=2, ceil_mode=True)
    assert out.shape == (1, 4, 4, 2)
    for i in range(4):
        for j in range(4):
            window = x[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            assert np.array_equal(out[0, i, j], window.max(axis=(0, 1)))


def test_channel_shuffle_and_broadcast_mul_by_index():
    x = np.arange(2 * 2 * 6, dtype=np.float32).reshape(1, 2, 2, 6)
    shuffled = tensor_ops.channel_shuffle(x, 2)
    for j in range(3):
        for g in range(2):
            assert np.array_equal(shuffled[..., j * 2 + g], x[..., g * 3 + j])
    gate = np.full((1, 1, 1, 6), 0.5, np.float32)
    assert np.array_equal(tensor_ops.mul(x, gate), x / 2)
    # int8: 100 * 64 / 128 = 50 (a gate of 64 at scale 1/128 is one half).
    q = np.full((1, 2, 2, 6), 100, np.int8)
    assert (tensor_ops.mul(q, np.full((1, 1, 1, 6), 64, np.int8)) == 50).all()


def test_inplace_concat_holds_its_output_once():
    """Two 1x1 convs of a 4x4x8 input write 4 and 6 channels into one concat buffer: at the
    concat only the 4x4x10 output is live (the input died at the second conv)."""
    network = Network("fire", Shape(4, 4, 8), [
        PointwiseConv2d(name="a", out_channels=4),
        PointwiseConv2d(name="b", inputs=("input",), out_channels=6),
        Concat(name="cat", inputs=("a", "b")),
    ])
    live = {layer.name: layer.live_bytes for layer in layerwise_peak(network, "int8").per_layer}
    assert live["cat"] == 16 * 10
    assert live["b"] == 16 * 8 + 16 * 10  # the input and the whole concat buffer
    copied = layerwise_peak(network, "int8", inplace_concat=False).per_layer
    assert copied[2].live_bytes == 16 * 4 + 16 * 6 + 16 * 10
