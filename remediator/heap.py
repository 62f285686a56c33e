"""The long-running processes' heap: settled once they have started, kept tidy after.

A worker holds ~110,000 objects once its libraries are imported (temporalio, pydantic,
the Redis client, our models), and every full garbage collection walks them all: ~57 ms
on this machine, during which the worker's event loop picks up no workflow task.
Allocation-heavy work (every workflow task decodes and validates pydantic models)
triggers full collections again and again under load. Objects alive after start-up live
as long as the process, so they move to the permanent generation, which collections
skip (the 57 ms become ~0).

Each workflow run the worker's cache evicts leaves a few hundred objects in reference
cycles (the SDK's run, its random generator and ready queue, the coroutines it tears
down with their tracebacks), and they hold the run's payloads, models and strings.
They are old by then, so only a full collection frees them, and CPython runs one only
once the old generation has grown by a quarter: in a burst of 200 incidents (80 cached
runs, ~140 evicted every 30 s) the garbage waiting for it was 15–25 MB of the worker's
peak. A full collection on a short clock, once young collections show the heap is
busy, frees it within the interval (BENCHMARKS.md, issue 13, twelfth session).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def settle() -> None:
    """Collect start-up garbage, then exempt every surviving object from collections."""
    gc.collect()
    gc.freeze()


def busy_since_full_collection() -> bool:
    """Whether the middle generation was collected since the last full collection: a
    few thousand objects allocated and not freed since, some of them perhaps garbage.
    An idle process rarely gets there, so tidying costs it nothing."""
    return gc.get_count()[2] > 0


async def keep_tidy(seconds: float) -> None:
    """Every ``seconds``, a full collection if the heap was busy since the last one.
    It walks only what is not frozen (~20–60 ms for a worker with 80 cached runs)."""
    while True:
        await asyncio.sleep(seconds)
        if busy_since_full_collection():
            gc.collect()


@asynccontextmanager
async def tidied(seconds: float) -> AsyncIterator[None]:
    """Keeps the heap tidy (``keep_tidy``) while the block runs; ``0`` leaves it to
    CPython's own schedule."""
    if seconds <= 0:
        yield
        return
    task = asyncio.create_task(keep_tidy(seconds), name="heap.keep_tidy")
    try:
        yield
    finally:
        task.cancel()
