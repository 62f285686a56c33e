"""The step's go-ahead (``guard_step_started_if_firing``) against a real guard: the
alerts are asked about first, and only a step that will run takes a fleet slot."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.alertmanager.firing import StillFiring, StillFiringRequest
from activities.go_ahead import GoAhead, GoAheadActivities, GoAheadRequest
from activities.guard import GuardActivities
from remediator.models.guard import GuardPolicy, StepRequest
from tests.activities.common import run
from tests.support.guard import guard_worker


def _request() -> GoAheadRequest:
    incident = f"INC-2099-{uuid.uuid4().int % 10**8:08d}"
    return GoAheadRequest(firing=StillFiringRequest(incident_id=incident),
                          step=StepRequest(incident_id=incident, action="feature_flag.set",
                                           target="flag:checkout-v2@production"))


def _alerts(firing: bool, asked: list[StillFiringRequest]
            ) -> Callable[[StillFiringRequest], Awaitable[StillFiring]]:
    """The still-firing check, answering ``firing`` (tested on its own elsewhere)."""
    async def still_firing(req: StillFiringRequest) -> StillFiring:
        asked.append(req)
        return StillFiring(firing=firing, detail="as the test says", checked=["incident"])
    return still_firing


async def test_a_step_whose_alerts_resolved_takes_no_slot(client: Client) -> None:
    asked: list[StillFiringRequest] = []
    async with guard_worker(client, GuardPolicy()) as guard:
        go = GoAheadActivities(_alerts(False, asked), GuardActivities(guard.link))
        answer: GoAhead = await run(go.guard_step_started_if_firing, _request())
        with pytest.raises(RPCError) as never_started:  # nothing was asked of the guard
            await guard.status()
    assert len(asked) == 1 and not answer.firing.act and answer.slot is None
    assert never_started.value.status == RPCStatusCode.NOT_FOUND


async def test_a_step_still_called_for_takes_one_slot_even_when_retried(client: Client) -> None:
    asked: list[StillFiringRequest] = []
    req = _request()
    async with guard_worker(client, GuardPolicy()) as guard:
        go = GoAheadActivities(_alerts(True, asked), GuardActivities(guard.link))
        first: GoAhead = await run(go.guard_step_started_if_firing, req)
        # A retry after a crash: the same activity, so the same update id.
        again: GoAhead = await run(go.guard_step_started_if_firing, req)
        status = await guard.status()
    assert first.slot is not None and first.slot.granted
    assert again.slot == first.slot
    assert status.in_flight == 1, "the retry did not take a second slot"
