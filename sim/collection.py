"""Pausing Python's cyclic garbage collector while a schedule is built or run.

A schedule is tens of thousands of small immutable objects (tiles, transfers, footprints and
their dicts) that refer to nothing that refers back: reference counting frees them, and the
cyclic collector, which runs every few hundred new container objects and walks the older
ones again and again as they pile up, finds nothing to free. Planning ResNet-18 on DianNao
(68,631 tiles) spends about as long in those walks as in the planning itself. The collector
is paused for the duration of :func:`collection_paused` and resumed after (if it was
running); a cycle made meanwhile is freed at the next collection after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside the block, as it was after it (nests)."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
