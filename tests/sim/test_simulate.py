"""Cycle-level runs: bounds on cycles, energy that adds up, records that match the schedule."""

from fractions import Fraction
from math import ceil

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.config import ConfigError
from sim.dataflow import DATAFLOWS, SimulationOptions, build_schedule
from sim.energy import COMPONENTS
from sim.schedule import traffic_bytes
from sim.simulate import simulate
from sim.workload.zoo import lightweight_cnn
from tests.sim.dataflows.strategies import nano, single_layers, with_buffer


def bandwidth_floor(result, hardware) -> int:
    return lower_bounds(result, hardware)[1]


def lower_bounds(result, hardware) -> tuple[int, int]:
    """(compute-bound, bandwidth-bound) in accelerator cycles: the PE array never idles, or
    every requested byte moves at the DRAM's peak rate."""
    totals = result["totals"]
    moved = totals["dram_read_bytes"] + totals["dram_write_bytes"]
    bandwidth = ceil(Fraction(moved) / Fraction(str(hardware.dram.peak_bytes_per_s))
                     * Fraction(str(hardware.clock_hz)))
    return totals["compute_cycles"], bandwidth


@given(network=single_layers(), size=st.integers(4096, 1 << 19),
       dataflow=st.sampled_from(["layerwise", "tiled"]))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_cycles_between_the_bounds(network, size, dataflow):
    hardware = with_buffer(nano(), size)
    try:
        result = simulate(network, hardware, SimulationOptions(dataflow, tile=8))
    except ConfigError:
        assume(False)
        raise
    totals = result["totals"]
    assert totals["cycles"] >= max(lower_bounds(result, hardware))
    # The upper bound is their sum: the same tiles with nothing overlapped (every load,
    # compute and store waits for the previous one).
    serial = simulate(network, hardware, SimulationOptions(dataflow, tile=8), overlap=False)
    assert totals["cycles"] <= serial["totals"]["cycles"]
    assert serial["totals"]["cycles"] >= totals["compute_cycles"] + max(0, bandwidth_floor(
        serial, hardware))


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_energy_adds_up_and_records_match_the_schedule(dataflow):
    network = lightweight_cnn()
    hardware = nano()
    options = SimulationOptions(dataflow, tile=16, buffer_channels=64)
    result = simulate(network, hardware, options)
    totals = result["totals"]
    energy = totals["energy_pj"]
    assert energy["total"] == pytest.approx(sum(energy[c] for c in COMPONENTS))
    per_layer = sum(layer["energy_pj"]["total"] for layer in result["layers"])
    assert energy["total"] == pytest.approx(per_layer)
    moved = traffic_bytes(build_schedule(network, hardware, options))
    assert totals["dram_bytes_by_operand"] == moved
    assert totals["dram_read_bytes"] + totals["dram_write_bytes"] == sum(moved.values())
    assert sum(layer["cycles"] for layer in result["layers"]) == totals["cycles"]
    assert totals["stall_cycles"] == totals["cycles"] - totals["compute_cycles"]
    assert totals["latency_s"] == pytest.approx(totals["cycles"] / hardware.clock_hz)


def test_mac_energy_is_macs_times_the_preset():
    network = lightweight_cnn()
    hardware = nano()
    totals = simulate(network, hardware, SimulationOptions())["totals"]
    assert totals["macs"] == network.total_macs
    assert totals["energy_pj"]["mac"] == pytest.approx(network.total_macs
                                                       * hardware.energy.mac_pj["int8"])


def test_config_hash_is_stable_and_changes_with_the_config():
    network = lightweight_cnn()
    hardware = nano()
    first = simulate(network, hardware, SimulationOptions("tiled", tile=16))
    again = simulate(network, hardware, SimulationOptions("tiled", tile=16))
    other = simulate(network, hardware, SimulationOptions("tiled", tile=8))
    assert first["config_hash"] == again["config_hash"] != other["config_hash"]
    assert first["totals"] == again["totals"]
