"""Sweeps run the mapper: `dataflow: auto` with an `objective` axis."""

import json

from sim.cli import main


def test_a_sweep_over_objectives_runs_auto(tmp_path, capsys):
    spec = tmp_path / "auto.yaml"
    spec.write_text(
        "name: auto\n"
        "base: {network: lightweight_cnn, hardware: jetson_nano, dataflow: auto}\n"
        "grid:\n"
        "  objective: [dram_bytes, latency]\n"
        "points:\n"
        "  - {dataflow: full}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "inline",
                 "--no-plots", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["points"] == 3
    by = {(row["dataflow"], row.get("objective", "")): row for row in report["results"]}
    assert set(by) == {("auto", "dram_bytes"), ("auto", "latency"), ("full", "")}
    assert by[("auto", "dram_bytes")]["dram_mb"] <= by[("full", "")]["dram_mb"]
