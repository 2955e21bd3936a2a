"""The zoo's parameter and MAC counts against published figures (DESIGN.md reference numbers)."""

import pytest

from sim.workload.zoo import (
    ZOO,
    lightweight_cnn,
    make_divisible,
    mobilenet_v2,
    resnet18,
    resnet18_cifar,
)

# torchvision's model table and the MAC count derived from it (DESIGN.md "Reference numbers").
MOBILENET_V2_PARAMS = 3_504_872
MOBILENET_V2_MACS = 300_774_272
RESNET18_PARAMS = 11_689_512
RESNET18_MACS = 1_814_073_344
RESNET18_CIFAR10_MACS = 555_422_720


def test_mobilenet_v2_matches_torchvision():
    network = mobilenet_v2()
    assert network.total_params == MOBILENET_V2_PARAMS
    assert network.total_macs == MOBILENET_V2_MACS
    assert network.output_shape.as_tuple() == (1, 1, 1000)


def test_mobilenet_v2_input_plus_output_pairs_match_the_seed_peaks():
    # Seed 001 Table 1: block 2's expansion holds 112x112x16 in and 112x112x96 out,
    # 1,404,928 elements, the peak when depthwise runs in place. Its depthwise layer holds
    # 112x112x96 in and 56x56x96 out, 1,505,280 elements, the peak when it does not.
    network = mobilenet_v2()

    def held(info):
        return sum(s.elements for s in info.input_shapes) + info.output_shape.elements

    assert network["b2_expand"].input_shapes[0].as_tuple() == (112, 112, 16)
    assert held(network["b2_expand"]) == 1_404_928
    assert held(network["b2_dw"]) == 1_505_280
    assert max(network.infos, key=held).name == "b2_dw"
    not_depthwise = [info for info in network.infos if info.kind != "depthwise"]
    assert max(not_depthwise, key=held).name == "b2_expand"


def test_resnet18_matches_torchvision():
    network = resnet18()
    assert network.total_params == RESNET18_PARAMS
    assert network.total_macs == RESNET18_MACS


@pytest.mark.parametrize("num_classes", [10, 100])
def test_resnet18_cifar_macs(num_classes):
    network = resnet18_cifar(num_classes=num_classes)
    # Only the classifier depends on the class count: 512 MACs per class.
    assert network.total_macs == RESNET18_CIFAR10_MACS + 512 * (num_classes - 10)
    assert network["fc"].params == 512 * num_classes + num_classes


def test_resnet18_cifar100_acceptance_figure():
    assert resnet18_cifar(num_classes=100).total_macs == 555_468_800


def test_resnet18_cifar_has_no_maxpool_and_a_3x3_stem():
    network = resnet18_cifar()
    assert "maxpool" not in [info.name for info in network.infos]
    assert network["conv1"].layer.kernel == (3, 3)
    assert network["pool"].input_shapes[0].as_tuple() == (4, 4, 512)


def test_lightweight_cnn_is_close_to_seed_000_counts():
    # Seed 000 Table 4.1: "Lightweight CNN", 0.26 M params, 15.8 M MACs on CIFAR-100 (32x32).
    network = lightweight_cnn()
    assert network.total_params == pytest.approx(0.26e6, rel=0.05)
    assert network.total_macs == pytest.approx(15.8e6, rel=0.05)
    assert network.output_shape.channels == 100


def test_resolution_changes_macs_but_not_params():
    small, large = mobilenet_v2(resolution=160), mobilenet_v2(resolution=224)
    assert small.total_params == large.total_params
    assert small.total_macs < large.total_macs


@pytest.mark.parametrize(("value", "expected"), [
    (32 * 0.5, 16), (32 * 0.35, 16), (1280 * 1.4, 1792), (24 * 0.75, 24), (96 * 0.35, 32), (10, 16),
])
def test_make_divisible_rounds_to_eight_and_keeps_ninety_percent(value, expected):
    # Nearest multiple of 8, bumped up by 8 when rounding lost more than 10%.
    assert make_divisible(value) == expected


def test_width_multiplier_shrinks_channels_and_keeps_the_head_at_1280():
    half = mobilenet_v2(width_mult=0.5)
    assert half["stem"].output_shape.channels == 16
    assert half["head"].output_shape.channels == 1280
    assert half.total_params < MOBILENET_V2_PARAMS


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_residual_add_joins_equal_shapes(name):
    network = ZOO[name].build()
    adds = [info for info in network.infos if info.kind == "add"]
    # SqueezeNet and ShuffleNetV2 join their branches by concatenation instead.
    joins = adds or [info for info in network.infos if info.kind == "concat"]
    assert joins, "every zoo network has residual or concatenated branches"
    for info in adds:
        assert len(set(info.input_shapes)) == 1
