"""Design points per second of the 200-point grid in benchmarks/sweep_200.yaml (the lightweight
CNN and MobileNetV2-96 over dataflows, tiles, buffer sizes and DRAM tRCD), on 1 and 2 worker
processes of the default executor, each with a fresh store so every point runs. Wall seconds
include starting the workers; CPU seconds are the workers' and this process's together.
Nothing is asserted.

    python benchmarks/bench_sweep.py [--workers 1 2] [--sweep FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from sim.sweep.runner import run_sweep
from sim.sweep.spec import load_sweep
from sim.sweep.store import ResultsStore

ROOT = Path(__file__).resolve().parents[1]


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sweep", default=str(ROOT / "benchmarks" / "sweep_200.yaml"))
    args = parser.parse_args()
    os.chdir(ROOT)  # the sweep names its files relative to the repository
    _, points = load_sweep(args.sweep)
    with tempfile.TemporaryDirectory() as folder:
        for workers in args.workers:
            store = ResultsStore(Path(folder) / f"workers{workers}")
            start, cpu = time.perf_counter(), _cpu_seconds()
            ran = run_sweep(points, store, "local", workers=workers)
            seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
            infeasible = sum("infeasible" in row["result"] for row in store.rows())
            store.close()
            print(f"{workers} worker(s): {ran} points ({infeasible} infeasible) in "
                  f"{seconds:.1f} s wall ({cpu:.1f} CPU s), {ran / seconds:.1f} points/s",
                  flush=True)


if __name__ == "__main__":
    main()
