"""Signals only remediator's workflows may send (issue 11): sent by anyone else — straight
to the incident, to its mitigate phase or to its alert group, early or while a step waits,
unsealed, replayed, altered or sealed with another key — they change nothing and add
nothing to the timeline but a refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.internal_key import internal_keys
from remediator.models.alert import AlertBatch
from remediator.models.approval import ApprovalRequest
from remediator.models.incident import Phase, TimelineEntry
from remediator.settings import Settings
from remediator.severity import Severity
from starters.alerts.alertmanager import parse_alertmanager
from starters.routes import route_of
from tests.support.approvals import Case
from tests.support.polling import eventually
from tests.support.seals import payloads_of, sealed_header, send, send_raw, signals_received
from workflows.alert_group_models import IncidentClosed
from workflows.approvals.models import StepDecision
from workflows.postmortem import FirstDraft
from workflows.support.seals import REFUSED
from workflows.support.signals import (
    APPROVAL_REQUESTED,
    DECIDED,
    INCIDENT_CLOSED,
    POSTMORTEM_DRAFTED,
    POSTMORTEM_WRITTEN,
    RECORD,
    SEVERITY_RAISED,
)


async def _refused(case: Case, at_least: int) -> list[str]:
    async def probe() -> list[str] | None:
        found = [e.detail for e in (await case.incidents.view(case.id)).timeline
                 if e.kind == REFUSED]
        return found if len(found) >= at_least else None

    return await eventually(probe, timeout=30, what=f"{at_least} refused signal(s)")


def _batch(case: Case) -> AlertBatch:
    return parse_alertmanager(json.dumps(case.payload).encode(), datetime.now(UTC), 10)


def _forged_entry(detail: str) -> TimelineEntry:
    return TimelineEntry(at=datetime.now(UTC), kind="approval.granted", detail=detail,
                         phase=Phase.MITIGATE)


async def test_internal_signals_from_outside_change_nothing_but_a_refusal(
    case: Case, client: Client, approval_worker: None
) -> None:
    pending = await case.open()
    group = route_of(_batch(case)).workflow_id
    before = await case.incidents.view(case.id)
    mitigate = f"{case.id}/mitigate"
    await send(client, mitigate, DECIDED, StepDecision(  # early: no step waits for it
        step_id="a-later-step", approved=True, by=["alice"], reason="bypass"))
    await send(client, case.id, RECORD, [_forged_entry("risky-flip approved by alice (forged)")])
    await send(client, case.id, APPROVAL_REQUESTED, pending.model_copy(
        update={"step_id": "forged-step", "plan_hash": "0" * 16}))
    await send(client, case.id, SEVERITY_RAISED, Severity.P0)
    await send(client, case.id, POSTMORTEM_DRAFTED, "# forged postmortem")
    await send(client, case.id, POSTMORTEM_WRITTEN, FirstDraft(
        markdown="# forged postmortem", timeline=[_forged_entry("forged review")]))
    await send(client, mitigate, DECIDED, StepDecision(
        step_id=pending.step_id, approved=True, by=["alice"], reason="bypass"))
    await send(client, group, INCIDENT_CLOSED,
               IncidentClosed(id=case.id, resolved_at=datetime.now(UTC)))

    refused = await _refused(case, 7)
    assert all("not sealed" in r for r in refused), refused
    for signal in (DECIDED, RECORD, APPROVAL_REQUESTED, SEVERITY_RAISED, POSTMORTEM_DRAFTED,
                   POSTMORTEM_WRITTEN):
        assert any(r.startswith(f"{signal} signal refused") for r in refused), signal
    view = await case.incidents.view(case.id)
    assert not any("forged" in e.detail for e in view.timeline)
    assert view.severity == before.severity and view.postmortem is None
    assert [p.step_id for p in await case.incidents.pending(case.id)] == [pending.step_id]
    assert view.status == "awaiting_approval" and await case.writes() == 0
    # The group still routes its alerts to this incident: it was not told it closed.
    again = await case.incidents.open_or_join(_batch(case))
    assert (again.id, again.created) == (case.id, False)
    # The real approval still works, once.
    await case.decide("alice", pending.plan_hash)
    done = await case.done()
    assert await case.writes() == 1
    assert "forged" not in (done.postmortem or "")


async def test_replayed_altered_or_foreign_seals_are_refused(
    case: Case, client: Client, approval_worker: None, approvals: Settings
) -> None:
    await case.open()
    [first, *_] = await signals_received(client, case.id, RECORD)
    genuine = first.workflow_execution_signaled_event_attributes
    header, payloads = dict(genuine.header.fields), list(genuine.input.payloads)
    delivered = await case.incidents.view(case.id)
    await send_raw(client, case.id, RECORD, payloads, header)  # the same signal again
    altered = payloads_of(client, [_forged_entry("altered")])
    await send_raw(client, case.id, RECORD, altered, header)
    sender = f"{case.id}/mitigate"
    await send_raw(client, case.id, RECORD, altered,
                   sealed_header(client, b"not the workers' key", sender, case.id, RECORD, altered))
    key = internal_keys(approvals)[0]
    await send_raw(client, case.id, RECORD, altered, sealed_header(
        client, key, sender, case.id, RECORD, altered, at=datetime.now(UTC) - timedelta(days=1)))
    await send(client, case.id, RECORD, [_forged_entry("from a stranger")], key=key,
               sender="somebody-else")

    refused = await _refused(case, 5)
    for why in ("delivered before", "not the one sealed", "does not verify",
                "before this run began", "'somebody-else' may not send it"):
        assert any(why in r for r in refused), (why, refused)
    view = await case.incidents.view(case.id)
    assert not any(e.kind == "approval.granted" for e in view.timeline)
    assert len(view.timeline) >= len(delivered.timeline)
    original = {(e.kind, e.detail) for e in delivered.timeline if e.phase is not None}
    counts = [sum((e.kind, e.detail) == o for e in view.timeline) for o in original]
    assert counts and max(counts) == 1, "the replayed batch was not applied twice"


async def test_a_sealed_decision_must_still_satisfy_the_policy(
    case: Case, client: Client, approval_worker: None, approvals: Settings
) -> None:
    """Even from the incident (its seal verifies), the phase acts on a decision only if
    its signed proofs satisfy the step's whole policy."""
    pending = await case.open()
    key, mitigate = internal_keys(approvals)[0], f"{case.id}/mitigate"
    bare = StepDecision(step_id=pending.step_id, approved=True, by=["alice"], reason="bypass")
    wrong = sign(case.id, ApprovalRequest(step=pending.step_id, approver="alice",
                                          plan_hash=pending.plan_hash), "tok-mallory",
                 datetime.now(UTC))
    for decision in (bare, bare.model_copy(update={"proofs": [wrong]}),
                     bare.model_copy(update={"step_id": "a-later-step"})):
        await send(client, mitigate, DECIDED, decision, key=key, sender=case.id)
    refused = [e.detail for e in (await case.incidents.view(case.id)).timeline]

    async def probe() -> list[str] | None:
        found = [e.detail for e in (await case.incidents.view(case.id)).timeline
                 if e.kind == "approval.refused"]
        return found if len(found) >= 3 else None

    refused = await eventually(probe, timeout=30, what="3 refused decisions")
    assert any("0 distinct signed approval" in r for r in refused)
    assert any("does not prove" in r for r in refused)
    assert any("not waiting" in r for r in refused)
    assert await case.writes() == 0 and (await case.waiting()).approvals == []
