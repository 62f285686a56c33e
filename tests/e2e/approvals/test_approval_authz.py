"""Who decided: unsigned, forged and internal decisions are refused, recorded, never applied."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest
from remediator.settings import Settings
from starters.incidents import DecisionRefused
from tests.support.approvals import Case, refusals, signal_body
from tests.support.worker_proc import WorkerProcess
from workflows.approvals.audit import RECORDED_PER_STEP, REFUSED
from workflows.incident import IncidentWorkflow


@pytest.mark.parametrize(("user", "key", "why"), [
    ("alice", None, "unsigned"),
    ("alice", "tok-bob", "does not prove 'alice'"),  # another user's token
])
async def test_unsigned_or_forged_signals_are_refused_and_recorded(
    case: Case, client: Client, approval_worker: None, user: str, key: str | None, why: str
) -> None:
    pending = await case.open()
    await client.get_workflow_handle(case.id).signal(
        IncidentWorkflow.approve, signal_body(case.id, pending.step_id, user,
                                               pending.plan_hash, key))
    [refused] = await refusals(case, 1)
    assert why in refused and "via signal" in refused
    assert (await case.waiting()).approvals == [] and await case.writes() == 0


async def test_forged_update_is_refused_and_recorded(case: Case, approval_worker: None) -> None:
    pending = await case.open()
    forged = sign(case.id, ApprovalRequest(step=pending.step_id, approver="alice",
                                           plan_hash=pending.plan_hash), "tok-mallory",
                  datetime.now(UTC))
    with pytest.raises(DecisionRefused, match="does not prove"):
        await case.incidents.decide(case.id, forged)
    [refused] = await refusals(case, 1)
    assert "via update" in refused and await case.writes() == 0


async def test_a_flood_of_refusals_is_capped_in_the_timeline(
    case: Case, client: Client, approval_worker: None
) -> None:
    pending = await case.open()
    handle = client.get_workflow_handle(case.id)
    for _ in range(RECORDED_PER_STEP + 5):
        await handle.signal(IncidentWorkflow.approve,
                            signal_body(case.id, pending.step_id, "alice", pending.plan_hash, None))
    await refusals(case, RECORDED_PER_STEP + 1)
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
