"""`network show`, `peak-mem` and `simulate --dataflow layerwise` on each new zoo network.

Expected figures: torchvision's model table parameters (the same table test_zoo_mobile.py
cites), the MACs the network's layers add up to, and bounds any run must meet (a layer-wise
peak holds at least the largest feature map; DRAM reads at least the int8 input image).
"""

import json

import pytest

from sim.cli import main
from sim.workload.zoo import ZOO
from tests.sim.workload.test_zoo_mobile import TORCHVISION

NETWORKS = sorted(TORCHVISION)


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", NETWORKS)
def test_network_show_prints_the_table_figures_and_the_mac_source(capsys, name):
    summary = run_json(capsys, "network", "show", name, "--json")
    assert summary["total_params"] == TORCHVISION[name][0]
    assert round(summary["total_macs"] / 1e9, 2) == TORCHVISION[name][1]
    assert summary["macs_source"].startswith("derived from the layer shapes")
    assert main(["network", "show", name]) == 0
    text = capsys.readouterr().out
    assert f"{TORCHVISION[name][0]:,}" in text and "MACs: derived from the layer shapes" in text


@pytest.mark.parametrize("name", NETWORKS)
def test_peak_mem_runs(capsys, name):
    network = ZOO[name].build()
    result = run_json(capsys, "peak-mem", "--network", name, "--json")
    assert len(result["per_layer"]) == len(network.infos)
    largest = max(info.output_shape.elements for info in network.infos)
    assert result["peak_bytes"] >= largest  # int8: one byte per element


@pytest.mark.parametrize("name", NETWORKS)
def test_simulate_layerwise_runs(capsys, name):
    network = ZOO[name].build()
    result = run_json(capsys, "simulate", "--network", name, "--hardware", "jetson_nano",
                      "--dataflow", "layerwise", "--json")
    totals = result["totals"]
    assert len(result["layers"]) == len(network.infos)
    assert totals["macs"] == network.total_macs
    assert totals["cycles"] >= totals["compute_cycles"] > 0
    assert totals["dram_read_bytes"] >= 224 * 224 * 3
