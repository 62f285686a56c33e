"""The rails around one mutating step of the mitigate phase (README "Safety rails").

Right before the step — after its approval, however long that took — the incident's
alerts must still fire (its own alert state, and Alertmanager's when configured): a
resolved or silenced alert means the step and every step after it are skipped, with
nothing changed. And the step takes a fleet slot from the guard (at most N mutating
steps in flight overall and per namespace or account), waiting for one to free up to a
bound; while it runs the slot is held, and when it ends the slot frees and, if it
applied, the action's cooldown on its target starts.

Both questions are asked at once (since release-2026-12-e: one round trip on the way
to the step, not two; since release-2026-12-h in one activity, ``guard_step_started_if_firing``,
which takes no slot for a step that will not run); a step that had to wait for its slot
asks again whether its alerts still fire, and a slot taken for a step that will not run
frees at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.alertmanager.firing import (
        AlertStateActivities,
        StillFiring,
        StillFiringRequest,
    )
    from activities.go_ahead import GoAheadActivities, GoAheadRequest
    from remediator.models.guard import StepFinished, StepRequest, StepSlot
    from remediator.models.mitigation import MitigationStep, StepOutcome
    from workflows.catalogue import lookup
    from workflows.guard import client as guard
    from workflows.guard.client import GUARD_TASK, GuardWait
    from workflows.rails import intent
    from workflows.support import ui
    from workflows.support.options import LOOKUP, local
    from workflows.support.versions import patched

STILL_FIRING_TASK = "still-firing-by-activity"
RAILS_AT_ONCE = "still-firing-beside-the-slot"
# Since release-2026-12-h: both in one activity, the slot asked only if still firing.
GO_AHEAD = "go-ahead-in-one-activity"
# Since release-2026-12-n: the worker frees the slot as the step's apply succeeds.
SLOT_FREED_BY_WORKER = "slot-freed-by-the-worker"

if TYPE_CHECKING:  # the input model lives with the phase that owns it
    from workflows.mitigate import MitigateInput


class StepRails:
    def __init__(self, inp: MitigateInput, waiter: GuardWait) -> None:
        self._inp = inp
        self._waiter = waiter
        # Why the remaining steps do not run (an alert resolved, no slot freed in time).
        self.stopped: str | None = None

    def _request(self, step: MitigationStep) -> StepRequest:
        it = intent(step, self._inp.incident_id)
        parent = workflow.info().parent
        return StepRequest(incident_id=self._inp.incident_id,
                           run_id=parent.run_id if parent else "", action=step.action,
                           target=it.target, scope=it.scope,
                           waiter_workflow_id=workflow.info().workflow_id)

    def skip(self, step: MitigationStep) -> StepOutcome:
        return StepOutcome(step_id=step.id, action=step.action,
                           risk=lookup(step.action).risk_of(step), state="skipped",
                           detail=f"not run: {self.stopped}; nothing changed")

    async def before(self, step: MitigationStep) -> StepOutcome | None:
        """None when the step may run now (holding a slot); else the outcome instead."""
        if patched(RAILS_AT_ONCE, since="release-2026-12-e"):
            self.stopped = await self._firing_with_slot(step)
        else:
            self.stopped = await self._not_firing(step) or await self._no_slot(step)
        return None if self.stopped is None else self.skip(step)

    def slot(self, step: MitigationStep) -> StepFinished | None:
        """The slot the step holds, for the worker to free as the step's apply succeeds
        (since release-2026-12-n: the phase's own call to free it, six history events,
        is then left out); None for an execution recorded before."""
        if not patched(SLOT_FREED_BY_WORKER, since="release-2026-12-n"):
            return None
        return self._finished(step, applied=False)

    async def after(self, step: MitigationStep, outcome: StepOutcome) -> None:
        """The step is over and the worker did not free its slot: freed here."""
        await self._free(step, applied=outcome.state == "applied")

    async def _free(self, step: MitigationStep, applied: bool) -> None:
        await guard.step_finished(self._finished(step, applied))

    def _finished(self, step: MitigationStep, applied: bool) -> StepFinished:
        return StepFinished(**self._request(step).model_dump(), applied=applied,
                            cooldown_seconds=step.cooldown_seconds)

    async def _firing_with_slot(self, step: MitigationStep) -> str | None:
        """Still firing? and a slot, asked together; after a wait for the slot, the
        alerts are asked about again, since they may have resolved meanwhile."""
        deadline, seen = self._slot_deadline(), self._waiter.count
        if patched(GO_AHEAD, since="release-2026-12-h"):
            answer = await workflow.execute_activity_method(
                GoAheadActivities.guard_step_started_if_firing,
                GoAheadRequest(firing=self._firing_request(), step=self._request(step)),
                **GUARD_TASK, summary=ui.line(f"alerts still firing? then a fleet slot for "
                                              f"{step.action} before step {step.id}"))
            not_firing = self._why_not(answer.firing, step)
            if not_firing is not None:
                return not_firing
            assert answer.slot is not None
            slot = answer.slot
        else:
            not_firing, slot = await asyncio.gather(self._not_firing(step),
                                                    guard.step_started(self._request(step)))
            if not_firing is not None:
                if slot.granted:  # taken for a step that will not run: it frees at once
                    await self._free(step, applied=False)
                return not_firing
        if slot.granted:
            return None
        no_slot = await self._slot_after(step, slot, seen, deadline)
        if no_slot is not None:
            return no_slot
        not_firing = await self._not_firing(step)  # it waited: have they resolved since?
        if not_firing is not None:
            await self._free(step, applied=False)
        return not_firing

    def _firing_request(self) -> StillFiringRequest:
        return StillFiringRequest(incident_id=self._inp.incident_id, alerts=self._inp.alerts)

    async def _not_firing(self, step: MitigationStep) -> str | None:
        request = self._firing_request()
        summary = f"alerts still firing before step {step.id}?"
        if patched(STILL_FIRING_TASK, since="release-2026-12-d"):
            # An activity, not a local one: the check queries the incident, whose answer
            # needs a workflow task of this worker's; a local activity holds this phase's
            # task (and its slot) open until it returns, so a burst of such checks could
            # hold every slot while the incidents' queries wait for one.
            answer = await workflow.execute_activity_method(
                AlertStateActivities.alerts_still_firing, request, **LOOKUP, summary=summary)
        else:
            answer = await workflow.execute_local_activity_method(
                AlertStateActivities.alerts_still_firing, request, **local(LOOKUP),
                summary=summary)
        return self._why_not(answer, step)

    @staticmethod
    def _why_not(answer: StillFiring, step: MitigationStep) -> str | None:
        """None when the alerts still call for the step; else why it does not run."""
        if answer.act:
            return None
        what = "silenced" if answer.silenced else "resolved"
        return f"alert {what} before step {step.id} ({answer.detail})"

    async def _no_slot(self, step: MitigationStep) -> str | None:
        """None once the step holds a slot; else why not (none freed in time)."""
        deadline, seen = self._slot_deadline(), self._waiter.count
        return await self._slot_after(step, await guard.step_started(self._request(step)),
                                      seen, deadline)

    def _slot_deadline(self) -> datetime:
        return workflow.now() + timedelta(seconds=self._inp.timings.slot_wait_seconds)

    async def _slot_after(self, step: MitigationStep, slot: StepSlot, seen: int,
                          deadline: datetime) -> str | None:
        """From the guard's answer ``slot`` (asked when the waiter had seen ``seen``
        releases): asked again at each release until granted (None) or ``deadline``."""
        while not slot.granted:
            left = (deadline - workflow.now()).total_seconds()
            if left <= 0 or not await self._waiter.next_release(seen, left):
                return f"{slot.detail} (waited {self._inp.timings.slot_wait_seconds:g}s)"
            seen = self._waiter.count
            slot = await guard.step_started(self._request(step))
        return None
