"""Running a sweep: skip finished points, claim the rest one by one, store each as it ends.

Executors give identical results (each point is a pure function of its config):
``inline`` (this process), ``local`` (a process pool, the default) and ``dask`` (a Dask
``distributed`` cluster: the given scheduler address, or a LocalCluster started here).

A point is claimed in the store just before it is submitted, so sweeps sharing a store split
the work; points another live sweep holds are waited for, and taken over if it dies. Worker
processes stop with the sweep: on SIGINT and SIGTERM the executor is shut down and its processes
terminated; on SIGKILL a watchdog process (:mod:`sim.sweep.watchdog`) kills them.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import re
import socket
import sys
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from sim.config import ConfigError
from sim.sweep.spec import DesignPoint
from sim.sweep.store import ResultsStore
from sim.sweep.watchdog import start_watchdog, stop_watchdog
from sim.sweep.worker import run_point

WAIT_FOR_OTHERS_S = 0.5  # poll interval for points another sweep is running
SCHEDULER_TIMEOUT_S = 5.0
# Set by the sweep command's SIGINT and SIGTERM handler before it raises KeyboardInterrupt. The
# raise can land where Python only reports an exception and goes on (a finalizer, a callback
# inside the executor); the driving loop checks this too, so the stop is never lost.
STOP_REQUESTED = threading.Event()
Outcome = tuple[str, dict[str, Any]]


class _Inline:
    """Runs each point at submission, in this process."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        self.capacity = 1

    def submit(self, point: DesignPoint) -> cf.Future:
        future: cf.Future = cf.Future()
        future.set_result(run_point(point.key, point.config))
        return future

    def wait(self, futures: list[Any]) -> list[Any]:
        return list(futures)

    def close(self, interrupted: bool) -> None:
        return None


class _Local:
    """A spawn-context process pool of ``workers`` processes."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        self.capacity = 2 * workers
        self.pool = cf.ProcessPoolExecutor(max_workers=workers,
                                           mp_context=multiprocessing.get_context("spawn"))

    def submit(self, point: DesignPoint) -> cf.Future:
        return self.pool.submit(run_point, point.key, point.config)

    def wait(self, futures: list[Any]) -> list[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def close(self, interrupted: bool) -> None:
        if interrupted:
            # The pool has no public way to stop a running task; end its processes.
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


def check_scheduler(address: str) -> str:
    """``tcp://HOST:PORT`` that accepts connections, else a one-line :class:`ConfigError`."""
    parts = urlsplit(address)
    if parts.scheme != "tcp" or not parts.hostname or not re.fullmatch(r"[^/]+:\d+",
                                                                       parts.netloc):
        raise ConfigError("--scheduler", f"malformed address {address!r}",
                          allowed="tcp://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or not 0 < port < 65536:
        raise ConfigError("--scheduler", f"malformed address {address!r}",
                          allowed="tcp://HOST:PORT with PORT 1..65535")
    try:
        socket.create_connection((parts.hostname, port), timeout=SCHEDULER_TIMEOUT_S).close()
    except OSError as error:
        raise ConfigError("--scheduler", f"cannot reach {address}: "
                          f"{error.strerror or error}") from None
    return address


class _Dask:
    """A Dask ``distributed`` client: to ``scheduler``, or to a LocalCluster started here."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        from distributed import Client, LocalCluster

        self.capacity = 2 * workers
        self.cluster = None
        if scheduler is None:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, dashboard_address=None)
        else:
            check_scheduler(scheduler)
        try:
            self.client = Client(scheduler or self.cluster, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError) as error:
            if self.cluster is not None:
                self.cluster.close()
            raise ConfigError("--scheduler", f"cannot connect: {error}") from None

    def submit(self, point: DesignPoint) -> Any:
        return self.client.submit(run_point, point.key, point.config, pure=False)

    def wait(self, futures: list[Any]) -> list[Any]:
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
        return list(done)

    def close(self, interrupted: bool) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


RUNNERS = {"inline": _Inline, "local": _Local, "dask": _Dask}


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


class PointFailed(Exception):
    """A point whose simulation refused its input; ``message`` is the one-line reason."""

    def __init__(self, point: DesignPoint, message: str) -> None:
        super().__init__(message)
        self.point = point
        self.message = message


def run_sweep(points: list[DesignPoint], store: ResultsStore, executor: str = "local",
              workers: int = 2, scheduler: str | None = None, resume: bool = True,
              progress: bool = False) -> int:
    """Run the points not yet in ``store`` (all of them without ``resume``); returns how many
    this call ran. Points claimed by another live sweep are waited for, not run twice."""
    finished = store.finished_keys() if resume else set()
    queue = deque(p for p in points if p.key not in finished)
    if not queue:
        return 0
    bar = Progress(len(queue), progress)
    watchdog = start_watchdog() if executor != "inline" else None
    runner = None
    interrupted = True
    try:
        runner = RUNNERS[executor](max(1, workers), scheduler)
        ran = _drive(runner, queue, store, bar, check_finished=resume)
        if STOP_REQUESTED.is_set():
            raise KeyboardInterrupt
        interrupted = False
        return ran
    finally:
        try:
            if runner is not None:
                runner.close(interrupted)
            store.release_claims()
        finally:
            if watchdog is not None:
                stop_watchdog(watchdog)


def _drive(runner: Any, queue: deque[DesignPoint], store: ResultsStore, bar: Progress,
           check_finished: bool) -> int:
    in_flight: dict[Any, DesignPoint] = {}
    others: list[DesignPoint] = []  # claimed by another sweep when we looked
    ran = 0
    while queue or in_flight or others:
        if STOP_REQUESTED.is_set():
            raise KeyboardInterrupt
        while queue and len(in_flight) < runner.capacity:
            point = queue.popleft()
            if check_finished and store.is_finished(point.key):
                bar.step()
                continue
            if check_finished and not store.claim(point.key):
                others.append(point)
                continue
            in_flight[runner.submit(point)] = point
        if in_flight:
            for future in runner.wait(list(in_flight)):
                point = in_flight.pop(future)
                key, result = future.result()
                if "error" in result:
                    raise PointFailed(point, result["error"])
                store.add(key, point.labels, point.config, result)
                ran += 1
                bar.step()
            continue
        if others:
            time.sleep(WAIT_FOR_OTHERS_S)
            waiting, others = others, []
            for point in waiting:
                if store.is_finished(point.key):
                    bar.step()
                else:
                    queue.append(point)  # claimed above once its sweep has died
    return ran
