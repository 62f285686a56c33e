"""Local activities that wait on a workflow this same worker serves (the guard, the
incident counter) must not outlive the worker's shutdown.

Once shutdown starts, the worker stops taking workflow tasks, so the update such an
activity waits for can only be answered by another worker; meanwhile Temporal's core
retries a failed local activity for as long as it likes and waits for every running one
before it exits (sdk-rust #709): the worker would hang on SIGTERM. Instead, the call
gives up with ``WorkerShutdown`` and the workflow fails its *task* on it (see
``workflows.support.shutdown``), so the server hands the task, and the call, to the next
worker. The call's update id makes asking again safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

T = TypeVar("T")

WORKER_SHUTDOWN = "WorkerShutdown"


def _shutting_down() -> ApplicationError:
    return ApplicationError("the worker is shutting down; the next worker asks again",
                            type=WORKER_SHUTDOWN, non_retryable=True)


async def unless_worker_shuts_down(call: Awaitable[T]) -> T:
    """``call``'s result, or ``WorkerShutdown`` (non-retryable) as soon as the worker
    begins to shut down."""
    if activity.is_worker_shutdown():
        raise _shutting_down()
    work = asyncio.ensure_future(call)
    stop = asyncio.ensure_future(activity.wait_for_worker_shutdown())
    try:
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not work.done():
            work.cancel()
    if work.cancelled() or not work.done():
        raise _shutting_down()
    return work.result()
