"""Weight storage in the simulator: centralized and zero-skipped weights change traffic and
energy by exactly what their storage formulas say."""

import pytest

from sim.dataflow import SimulationOptions
from sim.dtypes import DType
from sim.simulate import simulate
from sim.techniques.centralization import centralized_weight_bytes, prng_pj_per_weight
from sim.techniques.weight_storage import parse_weight_storage
from sim.techniques.zero_skip import zero_skip_bytes
from sim.workload.io import load_network
from tests.sim.dataflows.strategies import nano

MLP = "configs/networks/mlp_digits.yaml"


def run(weights: str) -> dict:
    return simulate(load_network(MLP), nano(), SimulationOptions(dtype=DType.FP32,
                                                                 weights=weights))


def test_centralized_weights_shrink_weight_traffic_by_the_storage_ratio():
    network = load_network(MLP)
    dense, compact = run("dense")["totals"], run("centralized:64")["totals"]
    expected = sum(centralized_weight_bytes(info.params, 64, 4) for info in network.infos)
    assert dense["dram_bytes_by_operand"]["weight"] == network.total_params * 4
    assert compact["dram_bytes_by_operand"]["weight"] == expected
    # Every dense weight is regenerated once, at the generator's energy per weight.
    regen = compact["energy_pj"]["weight_regen"]
    assert regen == pytest.approx(network.total_params * prng_pj_per_weight("fp32"), rel=1e-3)
    assert compact["energy_pj"]["dram_weight"] < dense["energy_pj"]["dram_weight"] / 25
    assert compact["energy_pj"]["total"] < dense["energy_pj"]["total"]
    assert compact["macs"] == dense["macs"]


def test_zero_skipping_drops_weight_bytes_and_macs():
    network = load_network(MLP)
    dense, sparse = run("dense")["totals"], run("zero-skip:0.5")["totals"]
    expected = sum(zero_skip_bytes(info.params, info.params - round(info.params * 0.5), 4)
                   for info in network.infos)
    assert sparse["dram_bytes_by_operand"]["weight"] == expected
    assert sparse["macs"] == pytest.approx(dense["macs"] / 2, abs=len(network.infos))
    assert sparse["energy_pj"]["weight_regen"] == 0


@pytest.mark.parametrize("text", ["centralized:0", "zero-skip:1", "sparse", "dense:2"])
def test_bad_weight_storage(text):
    with pytest.raises(ValueError, match="weights must be"):
        parse_weight_storage(text)
