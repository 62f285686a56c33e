"""Who decided: unsigned, forged and internal decisions are refused, recorded, never applied."""

# ruff: noqa: F811 - pytest fixtures shared with test_approvals

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest, ApprovalSignal
from remediator.settings import Settings
from starters.incidents import DecisionRefused
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from tests.test_approvals import Case, approval_worker, approvals, case  # noqa: F401
from workflows.approvals.audit import RECORDED_PER_STEP, REFUSED
from workflows.incident import IncidentWorkflow


def _signal_body(case_id: str, step: str, user: str, plan_hash: str | None,
                 key: str | None, issued_at: datetime | None = None) -> ApprovalSignal:
    request = ApprovalRequest(step=step, approver=user, plan_hash=plan_hash)
    if key is not None:
        request = sign(case_id, request, key, issued_at or datetime.now(UTC))
    return ApprovalSignal.model_validate(request.model_dump(exclude={"approve", "via"}))


async def _refusals(case: Case, at_least: int) -> list[str]:
    async def probe() -> list[str] | None:
        found = [e.detail for e in (await case.incidents.view(case.id)).timeline
                 if e.kind == REFUSED]
        return found if len(found) >= at_least else None

    return await eventually(probe, timeout=30, what=f"{at_least} recorded refusal(s)")


@pytest.mark.parametrize(("user", "key", "why"), [
    ("alice", None, "unsigned"),
    ("alice", "tok-bob", "does not prove 'alice'"),  # another user's token
])
async def test_unsigned_or_forged_signals_are_refused_and_recorded(
    case: Case, client: Client, approval_worker: None, user: str, key: str | None, why: str
) -> None:
    pending = await case.open()
    await client.get_workflow_handle(case.id).signal(
        IncidentWorkflow.approve, _signal_body(case.id, pending.step_id, user,
                                               pending.plan_hash, key))
    [refused] = await _refusals(case, 1)
    assert why in refused and "via signal" in refused
    assert (await case.waiting()).approvals == [] and await case.writes() == 0


async def test_forged_update_is_refused_and_recorded(case: Case, approval_worker: None) -> None:
    pending = await case.open()
    forged = sign(case.id, ApprovalRequest(step=pending.step_id, approver="alice",
                                           plan_hash=pending.plan_hash), "tok-mallory",
                  datetime.now(UTC))
    with pytest.raises(DecisionRefused, match="does not prove"):
        await case.incidents.decide(case.id, forged)
    [refused] = await _refusals(case, 1)
    assert "via update" in refused and await case.writes() == 0


async def test_a_flood_of_refusals_is_capped_in_the_timeline(
    case: Case, client: Client, approval_worker: None
) -> None:
    pending = await case.open()
    handle = client.get_workflow_handle(case.id)
    for _ in range(RECORDED_PER_STEP + 5):
        await handle.signal(IncidentWorkflow.approve,
                            _signal_body(case.id, pending.step_id, "alice", pending.plan_hash, None))
    await _refusals(case, RECORDED_PER_STEP + 1)
    await case.decide("alice", pending.plan_hash)
    view = await case.done()
    refused = [e.detail for e in view.timeline if e.kind == REFUSED]
    assert len(refused) == RECORDED_PER_STEP + 2  # the cap, its notice, the final count
    assert f"{RECORDED_PER_STEP + 5} refusals in all" in refused[-1]
    assert await case.writes() == 1


async def test_crash_after_the_proof_check_applies_the_step_once(
    approvals: Settings, case: Case, tmp_path: Path
) -> None:
    with WorkerProcess(approvals, tmp_path, crash_at="approval.proof_checked") as first:
        pending = await case.open()
        decided = case.decide("alice", pending.plan_hash)
        with pytest.raises(Exception):  # noqa: B017 - the worker dies mid-update
            await decided
        assert first.wait_exit(30) != 0
    assert await case.writes() == 0
    with WorkerProcess(approvals, tmp_path):
        view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
