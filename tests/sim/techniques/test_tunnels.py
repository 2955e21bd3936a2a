"""Input segmentation (Eq. 1), tunnels and the budget-driven tunnel designer (Eq. 2/3)."""

import pytest

from sim.dtypes import DType
from sim.peak import layerwise_peak
from sim.techniques.receptive import Region
from sim.techniques.reorder import reordered_peak
from sim.techniques.tunnel_design import design_tunnel
from sim.techniques.tunnels import (
    TunnelError,
    patch_size,
    segment,
    segmented,
    tunnel_peak,
)
from sim.workload.layers import Shape
from sim.workload.zoo import mobilenet_v2

IMAGE = Shape(224, 224, 3)


def test_eq1_patch_size_and_positions_for_imagenet_k4_m18():
    assert patch_size(224, 224, 4, 18) == (130, 130)
    regions = segment(224, 224, 4, 18, central=True)
    assert regions == [
        Region(0, 130, 0, 130), Region(0, 130, 94, 224),
        Region(94, 224, 0, 130), Region(94, 224, 94, 224),
        Region(47, 177, 47, 177),
    ]
    # Neighbours overlap by 2m (seed 001, Sec. 3.1).
    assert regions[0].row1 - regions[2].row0 == 2 * 18


def test_eq1_ratio_converges_to_one_over_k():
    # (h/sqrt(k) + m)^2 / h^2 = 1/k + 2m/(h sqrt(k)) + m^2/h^2
    h, k, m = 224, 4, 18
    ph, _ = patch_size(h, h, k, m)
    assert ph * ph / (h * h) == pytest.approx(1 / k + 2 * m / (h * 2) + m * m / (h * h))


def test_k_must_be_a_square():
    with pytest.raises(TunnelError, match="perfect square"):
        segment(224, 224, 5, 0, central=False)


def test_segmented_mobilenet_multiplies_weights_and_macs():
    network = mobilenet_v2()
    design = segmented(network, 4, 18, central=True)
    classifier = network["fc"].params
    assert design.tunnel.input_shape == Shape(130, 130, 3)
    assert design.params == 5 * (network.total_params - classifier) + classifier
    shared = segmented(network, 4, 18, central=True, shared_weights=True)
    assert shared.params == network.total_params
    tunnel_macs = design.tunnel.total_macs
    assert design.macs == 5 * tunnel_macs + network["fc"].macs
    report = tunnel_peak(design, "int8")
    assert report.extra_macs == design.macs - network.total_macs
    # One tunnel's peak plus the int32 feature sum (1280 features) carried across tunnels.
    tunnel_only = layerwise_peak(design.tunnel, "int8").peak_bytes
    assert report.peak_bytes == tunnel_only + 1280 * 4


def test_designer_meets_a_256_kb_int8_budget_on_every_layer():
    budget = 256_000
    design = design_tunnel(budget, IMAGE, 4, 18, "int8", central=True)
    report = tunnel_peak(design, "int8", reorder=True)
    assert report.peak_bytes <= budget
    assert all(layer.live_bytes <= budget for layer in report.per_layer)
    assert design.tunnels == 5 and design.tunnel.input_shape == Shape(130, 130, 3)
    final = design.tunnel.infos[-2].output_shape
    assert max(final.height, final.width) <= 4
    # Every reordered block satisfies Eq. 3 in the paper's own accounting as well.
    for layer in reordered_peak(design.tunnel, "int8").per_layer:
        assert layer.live_bytes <= budget


def test_designer_without_reordering_holds_each_layer_to_eq2():
    budget = 256_000
    design = design_tunnel(budget, IMAGE, 4, 18, "int8", reorder=False)
    report = tunnel_peak(design, "int8", reorder=False)
    assert report.peak_bytes <= budget


def test_reordering_allows_wider_tunnels():
    plain = design_tunnel(256_000, IMAGE, 4, 18, "int8", reorder=False)
    reordered = design_tunnel(256_000, IMAGE, 4, 18, "int8", reorder=True)
    assert reordered.tunnel.total_params > plain.tunnel.total_params


def test_no_design_fits_a_tiny_budget():
    with pytest.raises(TunnelError, match="no design fits: a 3x3 stem on the 130x130x3 patch"):
        design_tunnel(40_000, IMAGE, 4, 18, DType.INT8)


def test_fp32_at_256_kb_only_fits_with_a_strided_stem():
    # The 130x130x3 fp32 patch alone is 202,800 B: seed 001's 3x3/1 stem with 3 channels adds
    # 128x128x3x4 = 196,608 B, beyond 256 KB, so the designer falls back to stride 2.
    design = design_tunnel(256_000, IMAGE, 4, 18, "fp32")
    stem = design.tunnel["stem"]
    assert stem.layer.stride == (2, 2) and stem.output_shape.channels == 3
    assert tunnel_peak(design, "fp32", reorder=True).peak_bytes <= 256_000
    with pytest.raises(TunnelError, match="the patch alone is 202,800 B"):
        design_tunnel(200_000, IMAGE, 4, 18, "fp32")
