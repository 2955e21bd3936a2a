"""Running a sweep: skip finished points, run the rest on an executor, store each as it ends.

Executors give identical results (each point is a pure function of its config):
``inline`` (this process), ``local`` (a process pool, the default) and ``dask`` (a Dask
``distributed`` cluster: the given scheduler address, or a LocalCluster started here).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from sim.sweep.spec import DesignPoint
from sim.sweep.store import ResultsStore
from sim.sweep.worker import run_point

EXECUTORS = ("local", "inline", "dask")


def _inline(points: list[DesignPoint], workers: int, scheduler: str | None
            ) -> Iterator[tuple[str, dict[str, Any]]]:
    for point in points:
        yield run_point(point.key, point.config)


def _local(points: list[DesignPoint], workers: int, scheduler: str | None
           ) -> Iterator[tuple[str, dict[str, Any]]]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_point, p.key, p.config) for p in points]
        for future in as_completed(futures):
            yield future.result()


def _dask(points: list[DesignPoint], workers: int, scheduler: str | None
          ) -> Iterator[tuple[str, dict[str, Any]]]:
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures = client.map(run_point, [p.key for p in points], [p.config for p in points],
                             pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


RUNNERS: dict[str, Callable[..., Iterator[tuple[str, dict[str, Any]]]]] = {
    "inline": _inline, "local": _local, "dask": _dask,
}


class Progress:
    """A one-line progress bar on stderr: points done, rate and ETA."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.started = time.perf_counter()

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        filled = int(30 * self.done / self.total) if self.total else 30
        print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} points, "
              f"{rate:.2f}/s, ETA {eta:.0f} s", end="", file=sys.stderr, flush=True)
        if self.done == self.total:
            print(file=sys.stderr)


def run_sweep(points: list[DesignPoint], store: ResultsStore, executor: str = "local",
              workers: int = 2, scheduler: str | None = None, resume: bool = True,
              progress: bool = False) -> int:
    """Run the points not yet in ``store``; returns how many were run now."""
    finished = store.finished_keys() if resume else set()
    pending = [p for p in points if p.key not in finished]
    labels = {p.key: p for p in pending}
    bar = Progress(len(pending), progress)
    if executor == "dask" and scheduler is None and workers < 1:
        workers = 1
    if pending:
        for key, result in RUNNERS[executor](pending, workers, scheduler):
            point = labels[key]
            store.add(key, point.labels, point.config, result)
            bar.step()
    return len(pending)
