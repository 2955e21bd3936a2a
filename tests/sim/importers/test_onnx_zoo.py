"""Whole zoo networks written as the torch exporters write them (``zoo_to_onnx``), weights in a
missing external file, imported back: every layer must come back with the zoo's output shape,
parameters and MACs (the zoo's own counts are checked against torchvision's table in
tests/sim/workload/test_zoo_mobile.py)."""

from collections import Counter

import pytest

from sim.importers.onnx_model import import_onnx
from sim.workload.zoo import ZOO
from tests.sim.importers.zoo_to_onnx import STYLES, write_onnx

NETWORKS = ("mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "squeezenet1_1",
            "shufflenet_v2_x1_0", "mobilenet_v2", "resnet18")


def signature(network) -> Counter:
    """Each layer as (kind, output shape, params, MACs); pointwise is a 1x1 conv2d in ONNX."""
    return Counter(("conv2d" if info.kind == "pointwise" else info.kind,
                    info.output_shape.as_tuple(), info.params, info.macs)
                   for info in network.infos)


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("name", NETWORKS)
def test_zoo_network_round_trips_through_onnx(tmp_path, name, style):
    zoo = ZOO[name].build()
    imported = import_onnx(write_onnx(zoo, style, tmp_path))
    network = imported.network
    assert network.total_params == zoo.total_params
    assert network.total_macs == zoo.total_macs
    assert network.output_shape == zoo.output_shape
    assert signature(network) == signature(zoo)
    assert len(imported.notes) == 1 and "weights.missing" in imported.notes[0]
