"""Sweeps: grid expansion, validation errors, resume after SIGKILL, executors agree, plots."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from matplotlib.image import imread

from sim.cli import main
from sim.config import ConfigError
from sim.sweep.runner import run_sweep
from sim.sweep.spec import load_sweep
from sim.sweep.store import ResultsStore

SMOKE = "configs/sweeps/smoke.yaml"
EDGEACCEL = Path(sys.executable).parent / "edgeaccel"


def stored(folder: Path) -> dict[str, dict]:
    store = ResultsStore(folder)
    try:
        return {row["key"]: row["result"] for row in store.rows()}
    finally:
        store.close()


def test_grid_expands_to_every_combination():
    _, points = load_sweep(SMOKE)
    assert len(points) == 4
    assert sorted((p.labels["dataflow"], p.labels["technique.tile"]) for p in points) == [
        ("full", 8), ("full", 16), ("tiled", 8), ("tiled", 16)]
    assert len({p.key for p in points}) == 4


@pytest.mark.parametrize(("text", "where"), [
    ("grid:\n  technique.tiles: [8]\n", ":9: grid.technique.tiles: unknown axis"),
    ("grid:\n  hardware.buffers.global.size_bytes: [-1]\n",
     ":9: grid.hardware.buffers.global.size_bytes[0]: point 1 of 1 "
     "(hardware.buffers.global.size_bytes=-1): hardware.buffers.global.size_bytes: got -1 "
     "(allowed: 1..1099511627776)"),
    ("grid:\n  hardware.dram.nonsense: [1]\n", "no hardware field 'dram.nonsense'"),
    ("grid:\n  network: [no_such_net]\n", ":9: grid.network[0]: point 1 of 1 "
     "(network='no_such_net'): network: unknown network"),
    ("points:\n  - {dataflow: sideways}\n", ":9: points[0].dataflow: point 1 of 1 "
     "(dataflow='sideways'): dataflow: got 'sideways' (allowed: layerwise, tiled, buffered, "
     "fused, full, auto)"),
])
def test_bad_axes_name_file_line_and_path(tmp_path, text, where):
    base = Path(SMOKE).read_text().split("grid:")[0]
    path = tmp_path / "sweep.yaml"
    path.write_text(base + text)
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(str(path))
    assert where in str(caught.value)


def test_sweep_killed_with_sigkill_resumes_to_the_same_results(tmp_path):
    # The smoke grid on MobileNetV2-224 (tenths of a second a point), so the kill lands part way.
    sweep = tmp_path / "slower.yaml"
    sweep.write_text(Path(SMOKE).read_text().replace("network: lightweight_cnn",
                                                     "network: mobilenet_v2"))
    reference = tmp_path / "reference"
    assert main(["sweep", str(sweep), "--out", str(reference), "--executor", "inline",
                 "--no-plots", "--json"]) == 0
    killed = tmp_path / "killed"
    process = subprocess.Popen([str(EDGEACCEL), "sweep", str(sweep), "--out", str(killed),
                                "--executor", "inline", "--no-plots"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = killed / "results.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if database.exists():
            with sqlite3.connect(database) as connection:
                try:
                    done = connection.execute("SELECT COUNT(*) FROM points").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
            if done >= 1:
                break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = stored(killed)
    assert 1 <= len(partial) < 4, "the kill should land part way"
    assert main(["sweep", str(sweep), "--out", str(killed), "--executor", "inline",
                 "--no-plots", "--json"]) == 0
    final = stored(killed)
    assert final == stored(reference)
    with sqlite3.connect(database) as connection:
        keys = [row[0] for row in connection.execute("SELECT key FROM points")]
    assert len(keys) == len(set(keys)) == 4


def test_process_pool_and_dask_give_the_same_results(tmp_path):
    _, points = load_sweep(SMOKE)
    points = points[:2]
    results = {}
    for executor in ("local", "dask"):
        store = ResultsStore(tmp_path / executor)
        try:
            assert run_sweep(points, store, executor, workers=2) == 2
            results[executor] = {row["key"]: row["result"] for row in store.rows()}
        finally:
            store.close()
    assert results["local"] == results["dask"]
    assert set(results["local"]) == {p.key for p in points}


def test_resume_skips_finished_points(tmp_path):
    _, points = load_sweep(SMOKE)
    store = ResultsStore(tmp_path)
    try:
        assert run_sweep(points[:1], store, "inline") == 1
        assert run_sweep(points, store, "inline") == 3
        assert run_sweep(points, store, "inline") == 0
        assert run_sweep(points, store, "inline", resume=False) == 4
    finally:
        store.close()


def test_plots_and_export(tmp_path, capsys):
    assert main(["sweep", SMOKE, "--out", str(tmp_path), "--executor", "inline", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["points"] == 4 and len(result["results"]) == 4
    names = {Path(p).stem for p in result["plots"]}
    assert names >= {"energy_breakdown", "traffic_vs_tile", "pareto_energy_latency",
                     "roofline", "live_memory"}
    for png in result["plots"]:
        image = imread(png)
        assert image.shape[0] > 300 and image.shape[1] > 500
        assert image.std() > 0.02
        assert Path(png).with_suffix(".svg").stat().st_size > 10_000
    csv_path = tmp_path / "out.csv"
    assert main(["results", "export", str(tmp_path), "--csv", str(csv_path)]) == 0
    lines = csv_path.read_text().splitlines()
    assert len(lines) == 5 and "energy_mj" in lines[0]


def test_export_of_a_folder_without_results(tmp_path, capsys):
    assert main(["results", "export", str(tmp_path), "--csv", str(tmp_path / "x.csv")]) == 2
    assert "no results.sqlite" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_two_sweeps_into_one_store_run_each_point_once(tmp_path):
    out = tmp_path / "shared"
    command = [str(EDGEACCEL), "sweep", SMOKE, "--out", str(out), "--executor", "inline",
               "--no-plots", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as first, \
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as second:
        outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    assert sum(report["ran"] for report in reports) == 4  # no point ran twice
    assert all(len(report["results"]) == 4 for report in reports)
    assert len(stored(out)) == 4


def test_a_claim_of_a_dead_sweep_is_taken_over_and_a_live_one_is_not(tmp_path):
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    store = ResultsStore(tmp_path)
    try:
        with store.connection:
            store.connection.execute("INSERT INTO claims VALUES ('a', ?, 0)",
                                     (f"{host}:{dead.pid}",))
            store.connection.execute("INSERT INTO claims VALUES ('b', ?, 0)",
                                     (f"{host}:{os.getppid()}",))
        assert store.claim("a") is True
        assert store.claim("b") is False
    finally:
        store.close()


def test_a_foreign_sqlite_file_is_refused_and_not_modified(tmp_path):
    database = tmp_path / "results.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE points (id INTEGER)")  # same table name, not ours
    connection.close()
    before = database.read_bytes()
    with pytest.raises(ConfigError, match="not a results store"):
        ResultsStore(tmp_path)
    assert database.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]


def test_points_that_do_not_fit_are_stored_as_infeasible_with_the_reason(tmp_path, capsys):
    # MobileNetV2-224 asks for 64 x 224 x 224 B of feature-map room, more than the Jetson Nano
    # preset's 256 KB L2; the same sweep's layerwise point fits and runs.
    config = tmp_path / "s.yaml"
    config.write_text(
        "name: infeasible\n"
        "base: {network: mobilenet_v2, hardware: jetson_nano, dataflow: buffered,\n"
        "       technique: {buffer_channels: 64}}\n"
        "grid:\n  dataflow: [buffered, layerwise]\n")
    assert main(["sweep", str(config), "--out", str(tmp_path / "out"), "--executor", "inline",
                 "--no-plots", "--json"]) == 0
    results = {row["dataflow"]: row for row in json.loads(capsys.readouterr().out)["results"]}
    assert results["buffered"]["infeasible"] == (
        "--buffer-channels: 64 channels at 224x224 ask for 3,211,264 B, but buffer 'global' of "
        "jetson_nano has 262,144 B (allowed: 1..5)")
    assert "infeasible" not in results["layerwise"]
    assert results["layerwise"]["dram_mb"] > 0
