"""The workflow half of ``activities.support.worker_shutdown``: a local activity that
gave up because its worker is shutting down fails the workflow *task*, not the
workflow, so the server retries the task (and the call) on the next worker."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.support.worker_shutdown import WORKER_SHUTDOWN

T = TypeVar("T")


class WorkerShuttingDown(RuntimeError):
    """Not a Temporal failure: raising it fails the workflow task, which is retried."""


async def retried_on_next_worker(call: Awaitable[T]) -> T:
    """``call``'s result; a ``WorkerShutdown`` failure becomes a workflow task failure."""
    try:
        return await call
    except (ActivityError, ApplicationError) as err:
        # Core hands a local activity's failure over bare or wrapped, depending on path.
        cause = err.cause if isinstance(err, ActivityError) else err
        if isinstance(cause, ApplicationError) and cause.type == WORKER_SHUTDOWN:
            raise WorkerShuttingDown(cause.message) from None
        raise
