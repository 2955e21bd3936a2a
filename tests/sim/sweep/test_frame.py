"""Results as data: the pandas loader and `results export --parquet`, checked against the
stored JSON of each point."""

from __future__ import annotations

import pandas
import pytest

from sim.cli import main
from sim.sweep.frame import load_results
from sim.sweep.store import ResultsStore

SMOKE = "configs/sweeps/smoke.yaml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("frame")
    assert main(["sweep", SMOKE, "--out", str(out), "--executor", "inline", "--no-plots",
                 "--json"]) == 0
    return out


def _stored(folder):
    store = ResultsStore(folder)
    try:
        return {row["key"]: row for row in store.rows()}
    finally:
        store.close()


def test_frame_has_one_row_per_point_and_a_column_per_option_and_metric(folder):
    frame = load_results(folder)
    stored = _stored(folder)
    assert sorted(frame["key"]) == sorted(stored)
    for column in ("network", "resolution", "hardware", "dataflow", "dtype", "tile",
                   "buffer_channels", "macs", "dram_read_bytes", "cycles", "latency_s",
                   "energy_pj", "energy_pj.mac", "dram_bytes_by_operand.weight"):
        assert column in frame.columns
    for record in frame.to_dict("records"):
        row = stored[record["key"]]
        totals = row["result"]["totals"]
        assert record["tile"] == row["config"]["options"]["tile"]
        assert record["dataflow"] == row["config"]["options"]["dataflow"]
        assert record["energy_pj"] == totals["energy_pj"]["total"]
        assert record["energy_pj.mac"] == totals["energy_pj"]["mac"]
        assert record["cycles"] == totals["cycles"]


def test_parquet_export_round_trips_the_frame(folder, tmp_path, capsys):
    target = tmp_path / "points.parquet"
    assert main(["results", "export", str(folder), "--parquet", str(target),
                 "--csv", str(tmp_path / "points.csv")]) == 0
    read = pandas.read_parquet(target)
    pandas.testing.assert_frame_equal(read, load_results(folder))
    assert len((tmp_path / "points.csv").read_text().splitlines()) == 1 + len(read)


def test_export_needs_a_target(folder, capsys):
    assert main(["results", "export", str(folder)]) == 2
    assert "allowed: --csv FILE, --parquet FILE or both" in capsys.readouterr().err
