"""A mutating step's fleet slot, freed by the worker as the step's apply activity
succeeds (since release-2026-12-n).

The mitigate phase used to free the slot with an activity of its own once the step's
result was back: six history events and a round trip through the phase for every step.
A step whose request names its slot (``MitigationRequest.slot``) now has it freed here,
right after the apply returned; the result says so (``slot_freed``). Everything else —
a dry run, a failed or refused step, a worker without this interceptor, a guard that
did not answer — leaves ``slot_freed`` false, and the phase frees the slot as before.

Only a first attempt frees the slot here. It runs right after the step's go-ahead took
the slot, so the guard has just answered; a retry follows a failure or a dead worker,
and may find the guard's next task still held for that worker (its sticky timeout):
the step's result would wait for it. The phase frees the slot after a retry instead.
The guard's update id is the apply activity's (``activities.guard``), so a free that
landed before a crash is not counted twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from remediator.models.guard import StepFinished, StepSlot
from remediator.models.mitigation import MitigationRequest, MitigationResult
from workflows.catalogue import CATALOGUE

log = structlog.get_logger()
Free = Callable[[StepFinished], Awaitable[StepSlot]]


class _FreeSlot(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, free: Free, applies: set[str]) -> None:
        super().__init__(next)
        self._free = free
        self._applies = applies

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        request = input.args[0] if input.args else None
        info = activity.info()
        if (info.activity_type not in self._applies or info.attempt > 1
                or not isinstance(request, MitigationRequest)
                or request.slot is None or request.dry_run):
            return await self.next.execute_activity(input)
        result = await self.next.execute_activity(input)
        if not isinstance(result, MitigationResult):
            return result
        finished = request.slot.model_copy(update={"applied": result.applied})
        try:
            await self._free(finished)
        except Exception as exc:  # the phase frees it instead; the step's result stands
            log.warning("slot.not_freed", incident_id=request.incident_id,
                        step_id=request.step_id, error=str(exc)[:300])
            return result
        return result.model_copy(update={"slot_freed": True})


class SlotReturnInterceptor(Interceptor):
    """Worker interceptor: frees a step's fleet slot through ``free`` (the guard's
    ``guard_step_finished``) once the step's apply activity has succeeded."""

    def __init__(self, free: Free) -> None:
        self._free = free
        self._applies = {action.apply_activity for action in CATALOGUE.values()}

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _FreeSlot(next, self._free, self._applies)
