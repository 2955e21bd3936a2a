"""A sweep worker plans a schedule once for points that differ only in DRAM timing, and every
point's result is still exactly what a fresh `simulate` gives (the uncached path is the
reference)."""

from pathlib import Path

from sim.dataflow import SimulationOptions
from sim.hardware import HardwareSpec
from sim.simulate import simulate
from sim.sweep import worker
from sim.sweep.spec import load_sweep

SWEEP = """name: timing
base: {network: lightweight_cnn, hardware: configs/hardware/jetson_nano.yaml, dataflow: tiled,
       technique: {tile: 8}}
grid:
  dataflow: [tiled, full]
  hardware.dram.timing.rcd: [20, 29, 40]
"""


def test_dram_timing_points_share_one_plan_and_match_fresh_runs(tmp_path: Path, monkeypatch):
    config = tmp_path / "timing.yaml"
    config.write_text(SWEEP)
    _, points = load_sweep(config)
    assert len(points) == 6
    planned = []
    original = worker.plan_schedule

    def counting(network, hardware, options):
        planned.append(options.dataflow)
        return original(network, hardware, options)

    monkeypatch.setattr(worker, "plan_schedule", counting)
    worker._schedules.clear()
    cycles = set()
    for point in points:
        _, result = worker.run_point(point.key, point.config)
        options = point.config["options"]
        fresh = simulate(worker.network_from_dict(point.config["network"]),
                         HardwareSpec.model_validate(point.config["hardware"]),
                         SimulationOptions(options["dataflow"], options["tile"]))
        fresh.pop("config")
        assert result == fresh
        cycles.add(result["totals"]["cycles"])
    assert sorted(planned) == ["full", "tiled"]  # one plan per dataflow, not per timing
    assert len(cycles) == 6  # tRCD changes every run's cycles: results were not reused


def test_the_planning_key_ignores_only_dram_timing_and_energy(tmp_path: Path):
    config = tmp_path / "timing.yaml"
    config.write_text(SWEEP)
    _, points = load_sweep(config)
    base = points[0].config
    changed = {**base, "hardware": {**base["hardware"],
                                    "dram": {**base["hardware"]["dram"], "burst_length": 8}}}
    assert worker.planning_key(base) == worker.planning_key(points[1].config)
    assert worker.planning_key(base) != worker.planning_key(changed)
