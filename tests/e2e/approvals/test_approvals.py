"""Approval of risky steps: signals, the validated update, deadlines, allow-lists, crashes."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.devstack.servers import temporal_binary
from remediator.models.approval import ApprovalRequest, ApprovalSignal
from remediator.settings import Settings
from starters.incidents import DecisionRefused
from tests.conftest import ServerThread
from tests.support.approvals import Case
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView


async def test_approved_step_runs_once_and_is_recorded(case: Case, approval_worker: None) -> None:
    pending = await case.open()
    assert pending.required == 1 and "'on' → 'off'" in pending.plan
    assert await case.flag_value() == "on"  # nothing ran while waiting
    view = await case.incidents.view(case.id)
    assert view.status == "awaiting_approval"
    answer = await case.decide("alice", pending.plan_hash)
    assert answer.decided  # type: ignore[attr-defined]
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"]
    assert await case.writes() == 1 and await case.flag_value() == "off"
    assert any(e.kind == "approval.granted" and "alice" in e.detail for e in view.timeline)


async def test_rejected_step_is_skipped(case: Case, approval_worker: None) -> None:
    await case.open()
    await case.decide("bob", None, approve=False)
    view = await case.done()
    assert [s.state for s in view.steps] == ["rejected"]
    assert await case.writes() == 0 and await case.flag_value() == "on"
    assert any(e.kind == "approval.rejected" and "bob" in e.detail for e in view.timeline)


@pytest.mark.parametrize(("user", "plan_hash", "why"), [
    ("alice", "0000000000000000", "does not match the current plan"),
    ("mallory", None, "not on the approver allow-list"),
    ("carol", None, "requested this step and cannot approve it"),
])
async def test_invalid_approvals_are_refused_and_nothing_runs(
    case: Case, approval_worker: None, user: str, plan_hash: str | None, why: str
) -> None:
    pending = await case.open()
    with pytest.raises(DecisionRefused, match=why):
        await case.decide(user, plan_hash or pending.plan_hash)
    still = await case.waiting()
    assert still.approvals == [] and await case.writes() == 0


async def test_dangerous_step_needs_two_distinct_approvers(case: Case, approval_worker: None) -> None:
    pending = await case.open("TestDangerousAlert")
    assert pending.required == 2
    first = await case.decide("dave", pending.plan_hash)  # approver through group:sre
    assert not first.decided  # type: ignore[attr-defined]
    with pytest.raises(DecisionRefused, match="already approved"):
        await case.decide("dave", pending.plan_hash)
    assert await case.writes() == 0
    await case.decide("alice", pending.plan_hash)
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1


async def test_overdue_approval_escalates_and_keeps_waiting(
    client: Client, approvals: Settings, case: Case
) -> None:
    quick = approvals.model_copy(update={"approval_deadline_p2_seconds": 1.0,
                                         "approval_deadline_p1_seconds": 60.0})
    async with running_worker(client, quick):
        pending = await case.open()

        async def escalated() -> IncidentView | None:
            view = await case.incidents.view(case.id)
            return view if view.severity == "P1" else None

        view = await eventually(escalated, timeout=30, what="escalation to P1")
        assert any(e.kind == "approval.deadline_passed" for e in view.timeline)
        still = await case.waiting()
        assert still.step_id == pending.step_id and await case.writes() == 0
        await case.decide("alice", still.plan_hash)
        view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1


async def test_approval_signalled_while_no_worker_runs_applies_once(
    approvals: Settings, case: Case, client: Client, tmp_path: Path
) -> None:
    with WorkerProcess(approvals, tmp_path) as first:
        pending = await case.open()
        first.kill()
    signed = sign(case.id, ApprovalRequest(step=pending.step_id, approver="alice",
                                           plan_hash=pending.plan_hash), "tok-alice",
                  datetime.now(UTC))
    await client.get_workflow_handle(case.id).signal(
        IncidentWorkflow.approve,
        ApprovalSignal.model_validate(signed.model_dump(exclude={"approve", "via"})))
    assert await case.writes() == 0
    with WorkerProcess(approvals, tmp_path):
        view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1


async def test_plain_temporal_cli_signal_approves(
    approvals: Settings, case: Case, approval_worker: None
) -> None:
    from tests.support.cli import cli

    pending = await case.open()
    printed = await cli(approvals.model_copy(update={"api_token": SecretStr("tok-bob")}),
                        "sign-decision", case.id, "--step", pending.step_id, "--approve",
                        "--plan-hash", pending.plan_hash)
    assert printed.returncode == 0, printed.stderr
    body = json.loads(printed.stdout)
    assert body["approver"] == "bob" and body["signature"]
    result = await asyncio.to_thread(subprocess.run, [
        temporal_binary(), "workflow", "signal", "--address", approvals.temporal_address,
        "--workflow-id", case.id, "--name", "approve", "--input", json.dumps(body),
    ], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1


async def test_http_approval_needs_a_token_and_takes_identity_from_it(
    approvals: Settings, case: Case, approval_worker: None
) -> None:
    pending = await case.open()
    body = {"step": pending.step_id, "decision": "approve", "plan_hash": pending.plan_hash}
    async with ServerThread(approvals) as server, httpx.AsyncClient() as http:
        url = f"{server.base}/v1/incidents/{case.id}/approvals"
        anonymous = await http.post(url, json=body)
        forged = await http.post(url, json=body, headers={"authorization": "Bearer tok-eve"})
        stale = await http.post(url, json={**body, "plan_hash": "bad"},
                                headers={"authorization": "Bearer tok-alice"})
        malformed = await http.post(url, json={"step": pending.step_id, "decision": "maybe"},
                                    headers={"authorization": "Bearer tok-alice"})
        good = await http.post(url, json=body, headers={"authorization": "Bearer tok-alice"})
    assert anonymous.status_code == 401 and forged.status_code == 401
    assert stale.status_code == 409 and "does not match" in stale.json()["error"]
    assert malformed.status_code == 400 and "bad approval" in malformed.json()["error"]
    assert good.status_code == 200 and good.json()["approvals"] == ["alice"]
    await case.done()
    assert await case.writes() == 1


async def test_cli_lists_pending_steps_and_approves_with_the_current_plan(
    approvals: Settings, case: Case, approval_worker: None
) -> None:
    from tests.support.cli import cli

    pending = await case.open()
    listed = await cli(approvals, "pending", "--json")
    mine = [p for p in json.loads(listed.stdout) if p["incident"] == case.id]
    assert mine and mine[0]["plan_hash"] == pending.plan_hash and mine[0]["required"] == 1
    no_token = await cli(approvals, "approve", case.id, "--step", pending.step_id, "--as", "bob")
    assert no_token.returncode == 2 and "API token" in no_token.stderr
    as_mallory = approvals.model_copy(update={"api_token": SecretStr("tok-mallory")})
    refused = await cli(as_mallory, "approve", case.id, "--step", pending.step_id)
    assert refused.returncode == 1 and "allow-list" in refused.stderr
    claimed = await cli(as_mallory, "approve", case.id, "--step", pending.step_id, "--as", "bob")
    assert claimed.returncode == 2 and "does not match" in claimed.stderr
    as_bob = approvals.model_copy(update={"api_token": SecretStr("tok-bob")})
    approved = await cli(as_bob, "approve", case.id, "--step", pending.step_id,
                         "--reason", "rollback is safe")
    assert approved.returncode == 0, approved.stderr
    assert f"plan hash: {pending.plan_hash}" in approved.stdout
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
