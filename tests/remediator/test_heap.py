"""The worker's heap keeper frees garbage that CPython's own schedule leaves waiting."""

from __future__ import annotations

import gc
import weakref

import pytest
from pydantic import ValidationError

from remediator import heap
from remediator.settings import Settings
from tests.support.polling import eventually


class _Run:
    """Stands in for an evicted workflow run: an object in a reference cycle."""

    def __init__(self) -> None:
        self.itself = self


async def test_old_garbage_in_a_cycle_is_freed_within_the_interval() -> None:
    run = _Run()
    gc.collect()  # the run survives a full collection: it is old now
    freed = weakref.finalize(run, lambda: None)
    del run  # garbage, but only a full collection can see it
    gc.collect(1)  # the young generations are busy; the old one is not collected
    assert freed.alive and heap.busy_since_full_collection()
    async with heap.tidied(0.05):
        async def collected() -> bool:
            return not freed.alive

        await eventually(collected, timeout=5, what="the run's cycle freed")


def test_the_heap_is_busy_only_once_the_middle_generation_was_collected() -> None:
    """What spares an idle worker the collections."""
    # With automatic collections on, what the full collection's finalizers allocate (or
    # another thread of this test process) may set off a middle-generation collection
    # before the check: it did once, on a loaded machine.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        assert not heap.busy_since_full_collection()
        gc.collect(1)
        assert heap.busy_since_full_collection()
    finally:
        if was_enabled:
            gc.enable()


def test_collections_are_off_or_spaced_at_least_a_tenth_of_a_second_apart() -> None:
    with pytest.raises(ValidationError, match=r"0 \(off\) or at least 0\.1 s"):
        Settings(worker_gc_seconds=0.01)
    assert Settings(worker_gc_seconds=0).worker_gc_seconds == 0
    assert Settings(worker_gc_seconds=0.1).worker_gc_seconds == 0.1
