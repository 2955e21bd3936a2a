"""Patch-based inference: exact halos reproduce layer-wise execution; memory and MAC accounting."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.golden.forward import forward, random_input, random_weights
from sim.peak import layerwise_peak
from sim.techniques.patches import (
    PatchPlanError,
    patch_macs,
    patch_peak,
    plan_patches,
    run_patch_based,
    stage_cuts,
)
from sim.techniques.receptive import Region, split
from sim.workload.zoo import mobilenet_v2, resnet18_cifar
from tests.sim.techniques.strategies import spatial_networks


@given(network=spatial_networks(), data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_patch_execution_equals_layerwise_bit_for_bit_int8(network, data):
    cut = data.draw(st.sampled_from(stage_cuts(network)))
    out = network.tensor_shape(network.infos[cut - 1].name)
    rows = data.draw(st.integers(1, min(3, out.height)))
    cols = data.draw(st.integers(1, min(3, out.width)))
    plan = plan_patches(network, cut, rows, cols)
    weights = random_weights(network, "int8", seed=data.draw(st.integers(0, 99)))
    x = random_input(network, "int8", batch=2, seed=1)
    expected = forward(network, x, weights, "int8", keep="all")
    got = run_patch_based(plan, x, weights, "int8")
    np.testing.assert_array_equal(got[plan.stage_output], expected[plan.stage_output])
    np.testing.assert_array_equal(got[network.output_name], expected[network.output_name])


@given(network=spatial_networks(), data=st.data())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_patch_execution_matches_layerwise_fp32(network, data):
    cut = data.draw(st.sampled_from(stage_cuts(network)))
    out = network.tensor_shape(network.infos[cut - 1].name)
    plan = plan_patches(network, cut, min(2, out.height), min(2, out.width))
    weights = random_weights(network, "fp32", seed=3)
    x = random_input(network, "fp32", seed=4)
    expected = forward(network, x, weights, "fp32")[network.output_name]
    got = run_patch_based(plan, x, weights, "fp32")[network.output_name]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_mobilenet_patch_stage_equals_layerwise_on_a_real_network():
    network = mobilenet_v2(resolution=64, width_mult=0.35)
    cut = [info.name for info in network.infos].index("b4_project") + 1
    plan = plan_patches(network, cut, 4)
    weights = random_weights(network, "int8", seed=0)
    x = random_input(network, "int8", seed=0)
    expected = forward(network, x, weights, "int8")[network.output_name]
    np.testing.assert_array_equal(run_patch_based(plan, x, weights, "int8")[network.output_name],
                                  expected)


def test_one_patch_costs_no_extra_macs_and_many_patches_cost_some():
    network = mobilenet_v2()
    cut = [info.name for info in network.infos].index("b4_project") + 1
    assert patch_macs(plan_patches(network, cut, 1)) == network.total_macs
    assert patch_macs(plan_patches(network, cut, 4)) > network.total_macs


def test_halo_macs_of_a_single_conv_are_derived_by_hand():
    # One 3x3 stride-1 conv, padding 1, on 8x8: no layer before it, so patches need no halo
    # of *computed* data and cost exactly the layer's MACs.
    from sim.workload.layers import Conv2d, Shape
    from sim.workload.network import Network
    one = Network("one", Shape(8, 8, 2), [Conv2d(name="c", out_channels=3, kernel=3, padding=1)])
    assert patch_macs(plan_patches(one, 1, 2)) == one.total_macs
    # Two stacked convs: a 2x2 grid on the 8x8 output makes each patch compute a 5x5 region of
    # the first conv (4x4 plus a 1-pixel halo on the inner sides).
    two = Network("two", Shape(8, 8, 2), [
        Conv2d(name="a", out_channels=3, kernel=3, padding=1),
        Conv2d(name="b", out_channels=3, kernel=3, padding=1),
    ])
    per_pixel_a = 3 * 3 * 2 * 3
    per_pixel_b = 3 * 3 * 3 * 3
    expected = 4 * (5 * 5) * per_pixel_a + 8 * 8 * per_pixel_b
    assert patch_macs(plan_patches(two, 2, 2)) == expected


def test_patches_lower_mobilenet_peak_and_report_the_stage():
    network = mobilenet_v2()
    cut = [info.name for info in network.infos].index("b4_project") + 1
    report = patch_peak(plan_patches(network, cut, 4), "int8")
    assert report.peak_bytes < layerwise_peak(network, "int8").peak_bytes
    assert report.extra_macs == patch_macs(plan_patches(network, cut, 4)) - network.total_macs
    # The stage output (28x28x32 int8) is live, whole, during every stage layer.
    stage = report.per_layer[:cut]
    assert all(("b4_project[whole]", 28 * 28 * 32) in layer.tensors for layer in stage)


def test_stage_must_end_where_one_tensor_crosses():
    network = resnet18_cifar()
    names = [info.name for info in network.infos]
    with pytest.raises(PatchPlanError, match="cannot end after layer 'layer1_0_conv1'"):
        plan_patches(network, names.index("layer1_0_conv1") + 1, 2)
    assert names.index("layer1_0_add") + 1 in stage_cuts(network)


def test_split_covers_the_map_exactly_once():
    regions = split(7, 5, 3, 2)
    covered = np.zeros((7, 5), dtype=int)
    for region in regions:
        covered[region.row0:region.row1, region.col0:region.col1] += 1
    assert (covered == 1).all()
    assert Region(0, 2, 0, 2) in regions
    assert {r.height for r in regions} == {2, 3} and {r.width for r in regions} == {2, 3}
