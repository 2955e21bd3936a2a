"""Sweeps run the mapper: `dataflow: auto` with an `objective` axis."""

import json

from sim.cli import main
from sim.sweep.store import ResultsStore


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
    # The objective counts whole bursts on the bus (the stored totals' dram_burst_bytes), not
    # the requested bytes of the summary's dram_mb.
    store = ResultsStore(out, create=False)
    burst_bytes = {row["key"]: row["result"]["totals"]["dram_burst_bytes"]
                   for row in store.rows()}
    store.close()
    assert (burst_bytes[by[("auto", "dram_bytes")]["key"]]
            <= burst_bytes[by[("full", "")]["key"]])
