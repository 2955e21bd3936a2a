"""Layer-wise peak memory against seed 001 Table 1 / MCUNetV2 and hand-derived liveness."""

import pytest

from sim.peak import layerwise_peak
from sim.workload.layers import Add, Conv2d, DepthwiseConv2d, Shape
from sim.workload.network import Network
from sim.workload.zoo import mobilenet_v2

# Seed 001 Table 1 "5,619 KB" fp32; MCUNetV2 "1372 kB" int8 (KiB): 112x112x16 + 112x112x96.
MOBILENET_V2_PEAK_ELEMENTS = 112 * 112 * 16 + 112 * 112 * 96


@pytest.mark.parametrize(("dtype", "bytes_per_element"), [("fp32", 4), ("int8", 1)])
def test_mobilenet_v2_224_peak_in_place(dtype, bytes_per_element):
    report = layerwise_peak(mobilenet_v2(), dtype)
    assert report.peak_bytes == MOBILENET_V2_PEAK_ELEMENTS * bytes_per_element
    assert report.peak_layer == "b2_expand"


def test_published_figures_in_their_units():
    assert layerwise_peak(mobilenet_v2(), "fp32").peak_bytes // 1000 == 5619  # KB
    assert layerwise_peak(mobilenet_v2(), "int8").peak_bytes // 1024 == 1372  # KiB


def test_mobilenet_v2_peak_without_in_place_depthwise():
    report = layerwise_peak(mobilenet_v2(), "fp32", inplace_depthwise=False)
    assert report.peak_bytes == (112 * 112 * 96 + 56 * 56 * 96) * 4 == 6_021_120
    assert report.peak_layer == "b2_dw"


def test_in_place_depthwise_holds_input_and_one_output_channel():
    network = Network("n", Shape(10, 10, 8), [
        DepthwiseConv2d(name="dw", kernel=3, stride=2, padding=1),
        Conv2d(name="pw", out_channels=2, kernel=1),
    ])
    first = layerwise_peak(network, "int8").per_layer[0]
    assert first.live_bytes == 10 * 10 * 8 + 5 * 5
    assert first.tensors == (("input", 800), ("dw[scratch]", 25))
    # A depthwise layer whose input is read again later cannot overwrite it.
    kept = Network("n", Shape(10, 10, 8), [
        DepthwiseConv2d(name="dw", kernel=3, padding=1),
        Add(name="s", inputs=("dw", "input")),
    ])
    assert layerwise_peak(kept, "int8").per_layer[0].live_bytes == 2 * 10 * 10 * 8


def test_residual_skip_stays_live_across_the_block():
    network = Network("n", Shape(4, 4, 2), [
        Conv2d(name="a", out_channels=2, kernel=1),
        Conv2d(name="b", out_channels=6, kernel=1),
        Conv2d(name="c", out_channels=2, kernel=1),
        Add(name="s", inputs=("c", "a")),
    ])
    live = {layer.name: dict(layer.tensors) for layer in layerwise_peak(network, "fp32").per_layer}
    assert set(live["b"]) == {"a", "b"}  # a is kept for the add
    assert set(live["c"]) == {"a", "b", "c"}
    assert live["c"]["b"] == 4 * 4 * 6 * 4
    assert set(live["s"]) == {"a", "c", "s"}


def test_json_fields():
    data = layerwise_peak(mobilenet_v2(), "int8").to_dict()
    assert data["peak_bytes"] == MOBILENET_V2_PEAK_ELEMENTS
    assert data["peak_layer"] == "b2_expand" and data["extra_macs"] == 0
    assert len(data["per_layer"]) == len(mobilenet_v2().infos)
    assert set(data["per_layer"][0]) == {"name", "live_bytes"}
