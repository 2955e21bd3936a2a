"""Kill a sweep's worker processes when the sweep itself dies, even by SIGKILL.

``python -m sim.sweep.watchdog PID`` watches process ``PID``: while it lives, the watchdog
notes its descendants (pool workers, Dask nannies and workers, the resource tracker) every
:data:`POLL_S` seconds; once it is gone, the watchdog kills every noted process that still runs
(psutil checks each is the same process, not a reused PID) and exits. A sweep that ends normally
stops its workers itself and then the watchdog.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

POLL_S = 0.2


def watch(pid: int) -> None:
    """Block until ``pid`` has exited, then kill the descendants it had."""
    me = os.getpid()
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    known: dict[int, psutil.Process] = {}
    while True:
        try:
            if not parent.is_running() or parent.status() == psutil.STATUS_ZOMBIE:
                break
            for child in parent.children(recursive=True):
                if child.pid != me:
                    known[child.pid] = child
        except psutil.NoSuchProcess:
            break
        time.sleep(POLL_S)
    for process in known.values():
        try:
            process.kill()
        except psutil.Error:
            pass


def start_watchdog() -> subprocess.Popen:
    """Start a watchdog for this process; stop it with :func:`stop_watchdog`."""
    return subprocess.Popen([sys.executable, "-m", "sim.sweep.watchdog", str(os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop_watchdog(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait()


if __name__ == "__main__":
    watch(int(sys.argv[1]))
