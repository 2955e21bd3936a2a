"""Network YAML: round trips, the checked-in configs, and the NAME|FILE resolver."""

from pathlib import Path

import pytest

from sim.config import ConfigError
from sim.workload.io import dump_network, load_network, resolve_network
from sim.workload.zoo import ZOO, mobilenet_v2, resnet18_cifar

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "networks"


@pytest.mark.parametrize("name", sorted(ZOO))
def test_yaml_round_trip_reproduces_the_network(name, tmp_path):
    network = ZOO[name].build()
    path = tmp_path / f"{name}.yaml"
    path.write_text(dump_network(network))
    loaded = load_network(path)
    assert loaded == network
    assert (loaded.total_params, loaded.total_macs) == (network.total_params, network.total_macs)


def test_round_trip_keeps_non_default_geometry(tmp_path):
    network = mobilenet_v2(width_mult=0.35, resolution=96, num_classes=7)
    path = tmp_path / "n.yaml"
    path.write_text(dump_network(network))
    assert load_network(path) == network


@pytest.mark.parametrize(("file", "network"), [
    ("mobilenet_v2.yaml", ZOO["mobilenet_v2"].build()),
    ("resnet18.yaml", ZOO["resnet18"].build()),
    ("resnet18_cifar.yaml", ZOO["resnet18_cifar"].build()),
    ("resnet18_cifar100.yaml", resnet18_cifar(num_classes=100)),
    ("lightweight_cnn.yaml", ZOO["lightweight_cnn"].build()),
])
def test_checked_in_configs_match_the_builders(file, network):
    assert (CONFIGS / file).read_text() == dump_network(network)


def test_resolution_override_applies_to_files():
    network = resolve_network(str(CONFIGS / "lightweight_cnn.yaml"), resolution=64)
    assert network.input_shape.as_tuple() == (64, 64, 3)


def test_zoo_options_are_rejected_for_files():
    with pytest.raises(ConfigError, match="--num-classes applies to zoo networks only"):
        resolve_network(str(CONFIGS / "resnet18.yaml"), num_classes=10)


def test_option_a_builder_does_not_take():
    with pytest.raises(ConfigError, match="--width-mult does not apply") as caught:
        resolve_network("resnet18", width_mult=0.5)
    assert caught.value.allowed == "mobilenet_v2"
