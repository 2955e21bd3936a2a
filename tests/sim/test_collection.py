"""The cyclic collector pause around planning and running (sim.collection)."""

from __future__ import annotations

import gc
import weakref

import pytest

from sim.collection import collection_paused


@pytest.fixture(autouse=True)
def collector_running():
    """Each test starts with the collector on, and leaves it as it found it."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_resumed_after():
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pause_resumes_only_at_the_outermost():
    with collection_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumed_after_an_error():
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("planning failed")
    assert gc.isenabled()


def test_left_off_when_it_was_off():
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()


def test_a_cycle_made_while_paused_is_freed_after():
    """A cycle made in the pause is not lost: the next collection frees it."""

    class Node:
        pass

    freed = []
    with collection_paused():
        node = Node()
        node.itself = node
        weakref.finalize(node, freed.append, True)
        del node
        assert not freed  # a cycle: reference counting alone does not free it
    gc.collect()
    assert freed == [True]
