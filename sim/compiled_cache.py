"""Where numba caches the simulator's compiled code: a directory named after its sources.

numba checks a cached function against the file that defines it only. The compiled tile
pipeline (:mod:`sim.pipeline_compiled`) builds the DRAM rules of :mod:`sim.memory.compiled`
into its own code, so after a change to the rules alone numba would load the pipeline's old
code and serve requests by the old rules. Every compiled function of the simulator is cached
in ``<base>/numba-<digest>``, the digest taken over all the files with compiled code, so a
change to any of them compiles all of them anew. ``<base>`` is ``NUMBA_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/edgeaccel`` (``~/.cache/edgeaccel``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numba
from numba import njit

# Every file whose functions are compiled, relative to the package.
SOURCES = ("memory/compiled.py", "pipeline_compiled.py")
_PACKAGE = Path(__file__).parent


def cache_directory(sources: dict[str, bytes] | None = None) -> Path:
    """The cache directory for ``sources`` (file name to contents; the package's files if not
    given)."""
    if sources is None:
        sources = {name: (_PACKAGE / name).read_bytes() for name in SOURCES}
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name] + b"\0")
    base = os.environ.get("NUMBA_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeaccel"
    return Path(base) / f"numba-{digest.hexdigest()[:16]}"


_DIRECTORY = str(cache_directory())


def compiled(function: Callable) -> Callable:
    """``function`` compiled by numba (``njit``), its code cached in :func:`cache_directory`."""
    before = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = _DIRECTORY  # numba picks a function's cache when it wraps it
    try:
        return njit(cache=True)(function)
    finally:
        numba.config.CACHE_DIR = before
