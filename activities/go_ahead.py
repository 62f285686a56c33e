"""A mutating step's go-ahead in one activity: its alerts still fire, then a fleet slot
(since release-2026-12-h).

Asked as two activities side by side (release-2026-12-e), the still-firing check and
the guard's slot cost the mitigate phase six history events, and a workflow task more
whenever their answers came back apart. One activity asks about the alerts first and
takes a slot only for a step that will run, so a resolved alert no longer takes a slot
that must then be freed. The slot's update id is this activity's (``activities.guard``):
a retry after a crash gets the first attempt's slot, never a second one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity

from activities.alertmanager.firing import StillFiring, StillFiringRequest
from activities.guard import GuardActivities
from remediator.models.contract import Contract
from remediator.models.guard import StepRequest, StepSlot


class GoAheadRequest(Contract):
    firing: StillFiringRequest
    step: StepRequest


class GoAhead(Contract):
    """``slot``: None when not asked for (the alerts no longer call for the step)."""

    firing: StillFiring
    slot: StepSlot | None = None


class GoAheadActivities:
    """``guard_step_started_if_firing``, from the still-firing check and the guard."""

    def __init__(self, still_firing: Callable[[StillFiringRequest], Awaitable[StillFiring]],
                 guard: GuardActivities) -> None:
        self._still_firing = still_firing
        self._guard = guard

    @activity.defn
    async def guard_step_started_if_firing(self, req: GoAheadRequest) -> GoAhead:
        """The alerts' state; if they still call for the step, a fleet slot (or why not)."""
        firing = await self._still_firing(req.firing)
        if not firing.act:
            return GoAhead(firing=firing)
        return GoAhead(firing=firing, slot=await self._guard.guard_step_started(req.step))
