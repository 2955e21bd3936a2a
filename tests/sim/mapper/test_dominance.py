"""``auto`` (objective ``dram_bytes``) against the fixed dataflows at their shipped options,
unit by unit.

The reference is each fixed dataflow's own schedule: :func:`sim.dataflow.plan_schedule` makes
its tiles, and the bytes of every unit are counted from those tiles' transfers (whole bursts),
independently of the address-only costs ``auto`` ranks its candidates by; ``auto``'s bytes are
counted from the tiles of the schedule it emits in the same way.
"""

import pytest

from sim.dataflow import SimulationOptions, plan_schedule
from sim.dtypes import DType
from sim.hardware import load_hardware
from sim.mapper.fixed_runs import fixed_part_bytes
from sim.mapper.report import fixed_schedules
from sim.mapper.units import bytes_by_layer, compared_units, unit_bytes
from sim.schedule import DramLayout
from sim.workload.zoo import ZOO

PRESETS = ("jetson_nano", "eyeriss", "diannao")


def schedules_of_fixed_runs(network, hardware):
    """(label, schedule) of every fixed dataflow at every shipped tile edge that fits, made by
    the fixed planners themselves."""
    return fixed_schedules(network, hardware, SimulationOptions())


@pytest.mark.parametrize("preset", PRESETS)
def test_counted_fixed_runs_equal_their_schedules(preset):
    """Second implementation: the per-part bytes ``auto`` compares itself with, counted from
    the planners' address-only costs, equal the bytes of each fixed run's own tiles on every
    unit, and the runs that fit are the same."""
    network = ZOO["lightweight_cnn"].build()
    hardware = load_hardware(f"configs/hardware/{preset}.yaml")
    counted = fixed_part_bytes(network, hardware, DramLayout(network, 1), DType.INT8)
    made = {label: schedule for label, schedule in schedules_of_fixed_runs(network, hardware)
            if not label.startswith("fused")}
    assert set(counted) == set(made) == {"layerwise", "tiled/16", "tiled/32", "buffered",
                                         "full/16", "full/32"}
    units = compared_units(network, ())
    for label, schedule in made.items():
        from_tiles = bytes_by_layer(schedule.tiles, hardware.dram.burst_bytes)
        assert unit_bytes(units, counted[label].parts) == unit_bytes(units, from_tiles), label


@pytest.mark.parametrize("preset", PRESETS)
def test_auto_moves_no_more_than_any_fixed_run_on_every_unit(preset):
    """On the lightweight CNN on each preset, every unit (a layer, an inverted-residual block,
    a fused run) of the schedule ``auto`` emits moves no more bytes than under any fixed
    dataflow that compares layer by layer (``fused`` counts a group at its last layer), and
    the network moves no more than under any fixed dataflow. Before the search ranked
    candidates by their units, one unit on the Jetson Nano and five on Eyeriss moved more."""
    network = ZOO["lightweight_cnn"].build()
    hardware = load_hardware(f"configs/hardware/{preset}.yaml")
    burst = hardware.dram.burst_bytes
    schedule = plan_schedule(network, hardware, SimulationOptions("auto"))
    auto = bytes_by_layer(schedule.tiles, burst)
    units = compared_units(network, schedule.mapping.fused)
    auto_units = unit_bytes(units, auto)
    for label, fixed in schedules_of_fixed_runs(network, hardware):
        run = bytes_by_layer(fixed.tiles, burst)
        assert sum(auto.values()) <= sum(run.values()), label
        if label.startswith("fused"):
            continue
        run_units = unit_bytes(units, run)
        above = {unit: (auto_units[unit], run_units[unit]) for unit in units
                 if auto_units[unit] > run_units[unit]}
        assert not above, (label, above)


def test_where_no_mapping_beats_every_fixed_run_the_fewest_bytes_are_kept(monkeypatch):
    """A fixed run that moves nothing on any layer cannot be matched, so ``auto`` finds no
    mapping without units above it: it must then keep a mapping with no more bytes than the
    search ranked by bytes alone, and name the units left above."""
    from sim.mapper import network_mapping
    from sim.mapper.fixed_runs import FixedRun

    network = ZOO["lightweight_cnn"].build()
    hardware = load_hardware("configs/hardware/diannao.yaml")
    monkeypatch.setattr(network_mapping, "fixed_part_bytes",
                        lambda *args: {"nothing": FixedRun({})})
    burst = hardware.dram.burst_bytes
    kept = network_mapping.auto_schedule(network, hardware, DramLayout(network, 1), DType.INT8)
    alone = network_mapping.auto_schedule(network, hardware, DramLayout(network, 1),
                                          DType.INT8, dominate=False)
    kept_bytes = sum(bytes_by_layer(kept.tiles, burst).values())
    assert kept_bytes <= sum(bytes_by_layer(alone.tiles, burst).values())
    assert kept.units_left_above and alone.units_left_above == ()
