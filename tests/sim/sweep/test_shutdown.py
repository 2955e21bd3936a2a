"""Stopping a sweep stops all of it: after SIGKILL, SIGTERM or SIGINT of `edgeaccel sweep`, no
process it started (pool workers, Dask nannies and workers, the resource tracker, the watchdog)
is alive 5 s later. The processes are listed with psutil while the sweep runs, so the check
does not rely on the code under test to say what it started."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

# Three hundred MobileNetV2-224 points of tenths of a second each: long enough (half a minute
# and more on 2 workers) to be stopped part way, short enough that no point holds up the stop.
SLOW = f"""name: slow
base: {{network: mobilenet_v2, hardware: jetson_nano, dataflow: tiled}}
grid:
  hardware: [jetson_nano, eyeriss]
  dataflow: [layerwise, tiled, buffered, fused, full]
  hardware.dram.timing.rcd: {list(range(10, 40))}
"""
EDGEACCEL = Path(sys.executable).parent / "edgeaccel"
GRACE_S = 5.0


def _finished_points(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _start_and_wait(tmp_path: Path, executor: str) -> tuple[subprocess.Popen, list]:
    """Start a sweep; return it once a point is stored, with its descendants at that time."""
    sweep = tmp_path / "slow.yaml"
    sweep.write_text(SLOW)
    process = subprocess.Popen(
        [str(EDGEACCEL), "sweep", str(sweep), "--out", str(tmp_path / "out"), "--executor",
         executor, "--workers", "2", "--no-plots"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = tmp_path / "out" / "results.sqlite"
    deadline = time.monotonic() + 120
    descendants: list[psutil.Process] = []
    while time.monotonic() < deadline and process.poll() is None:
        descendants = psutil.Process(process.pid).children(recursive=True)
        if _finished_points(database) >= 1 and len(descendants) >= 3:
            break
        time.sleep(0.1)
    assert process.poll() is None, "the sweep ended before it could be stopped"
    time.sleep(0.5)  # let the watchdog see every worker
    return process, psutil.Process(process.pid).children(recursive=True)


def _alive_after_grace(processes: list[psutil.Process]) -> list[str]:
    deadline = time.monotonic() + GRACE_S
    alive = processes
    while time.monotonic() < deadline:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.1)
    return [" ".join(p.cmdline()[:4]) for p in alive if p.is_running()]


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_sigkill_leaves_no_process_behind(tmp_path, executor):
    process, descendants = _start_and_wait(tmp_path, executor)
    assert len(descendants) >= 3  # two workers (or nannies) and the watchdog at least
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _alive_after_grace(descendants) == []


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_every_worker(tmp_path, stop):
    process, descendants = _start_and_wait(tmp_path, "local")
    process.send_signal(stop)
    assert process.wait(timeout=30) == 130
    assert _alive_after_grace(descendants) == []
    assert _finished_points(tmp_path / "out" / "results.sqlite") >= 1  # finished points stay
