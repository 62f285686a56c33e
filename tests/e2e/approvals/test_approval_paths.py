"""Issue 11, path by path: stale proofs, trusted Temporal identity, refusals audited with
the path they came by (HTTP, CLI, signal, update), a duplicate approver on the signal path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest
from remediator.settings import Settings
from starters.incidents import DecisionRefused
from tests.conftest import ServerThread
from tests.support.approvals import Case, refusals, signal_body
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView


def _granted(view: IncidentView) -> list[str]:
    return [e.detail for e in view.timeline if e.kind == "approval.granted"]


async def test_stale_signed_decisions_are_refused_on_signal_and_update(
    approvals: Settings, case: Case, client: Client
) -> None:
    short_lived = approvals.model_copy(update={"decision_max_age_seconds": 60.0})
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    async with running_worker(client, short_lived):
        pending = await case.open()
        await client.get_workflow_handle(case.id).signal(
            IncidentWorkflow.approve, signal_body(case.id, pending.step_id, "alice",
                                                   pending.plan_hash, "tok-alice",
                                                   ten_minutes_ago))
        [by_signal] = await refusals(case, 1)
        assert "is stale" in by_signal and "'alice' via signal" in by_signal
        stale = sign(case.id, ApprovalRequest(step=pending.step_id, approver="alice",
                                              plan_hash=pending.plan_hash), "tok-alice",
                     ten_minutes_ago)
        with pytest.raises(DecisionRefused, match="is stale"):
            await case.incidents.decide(case.id, stale)
        by_update = (await refusals(case, 2))[1]
        assert "is stale" in by_update and "'alice' via update" in by_update
        assert (await case.waiting()).approvals == [] and await case.writes() == 0
        # The same approver, signing now, is still welcome: the step runs once.
        await case.decide("alice", pending.plan_hash)
        view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
    assert len(_granted(view)) == 1


async def test_trusted_temporal_identity_applies_an_unsigned_signal_once(
    approvals: Settings, case: Case, client: Client
) -> None:
    trusting = approvals.model_copy(update={"trust_temporal_identity": True})
    async with running_worker(client, trusting):
        pending = await case.open()
        handle = client.get_workflow_handle(case.id)
        # Trust in Temporal's identity lifts the signature, never the policy or a bad proof.
        await handle.signal(IncidentWorkflow.approve, signal_body(
            case.id, pending.step_id, "mallory", pending.plan_hash, None))
        await handle.signal(IncidentWorkflow.approve, signal_body(
            case.id, pending.step_id, "alice", pending.plan_hash, "tok-bob"))
        refused = await refusals(case, 2)
        assert any("'mallory' via signal" in r and "allow-list" in r for r in refused)
        assert any("'alice' via signal" in r and "does not prove" in r for r in refused)
        assert (await case.waiting()).approvals == [] and await case.writes() == 0
        unsigned = signal_body(case.id, pending.step_id, "alice", pending.plan_hash, None)
        await handle.signal(IncidentWorkflow.approve, unsigned)
        await handle.signal(IncidentWorkflow.approve, unsigned)  # the same signal again
        view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
    [granted] = _granted(view)
    assert "approved by alice" in granted
    repeat = [e.detail for e in view.timeline if e.kind == "approval.refused"][2:]
    assert len(repeat) == 1 and "'alice' via signal" in repeat[0]


async def test_http_and_cli_refusals_are_recorded_with_their_path(
    approvals: Settings, case: Case, approval_worker: None
) -> None:
    from tests.support.cli import cli

    pending = await case.open()
    body = {"step": pending.step_id, "decision": "approve", "plan_hash": pending.plan_hash}
    # A token whose user is named like a group: a misconfiguration, refused all the same.
    assert approvals.api_tokens is not None
    tokens = approvals.api_tokens.get_secret_value() + ",group:sre=tok-group"
    server_settings = approvals.model_copy(update={"api_tokens": SecretStr(tokens)})
    async with ServerThread(server_settings) as server, httpx.AsyncClient() as http:
        url = f"{server.base}/v1/incidents/{case.id}/approvals"
        outsider = await http.post(url, json=body, headers={"authorization": "Bearer tok-mallory"})
        requester = await http.post(url, json=body, headers={"authorization": "Bearer tok-carol"})
        group = await http.post(url, json=body, headers={"authorization": "Bearer tok-group"})
    assert outsider.status_code == 409 and "allow-list" in outsider.json()["error"]
    assert requester.status_code == 409 and "requested this step" in requester.json()["error"]
    assert group.status_code == 403 and "names an approver group" in group.json()["error"]
    as_mallory = approvals.model_copy(update={"api_token": SecretStr("tok-mallory")})
    by_cli = await cli(as_mallory, "approve", case.id, "--step", pending.step_id)
    assert by_cli.returncode == 1 and "allow-list" in by_cli.stderr

    refused = await refusals(case, 4)
    assert any("'mallory' via http" in r and "allow-list" in r for r in refused)
    assert any("'group:sre' via http" in r and "names an approver group" in r for r in refused)
    assert any("'carol' via http" in r and "requested this step" in r for r in refused)
    assert any("'mallory' via cli" in r and "allow-list" in r for r in refused)
    assert all(pending.step_id in r for r in refused)
    assert (await case.waiting()).approvals == [] and await case.writes() == 0
    await case.decide("alice", pending.plan_hash)
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1


async def test_duplicate_approver_by_signal_on_a_two_approver_step_is_refused(
    case: Case, client: Client, approval_worker: None
) -> None:
    pending = await case.open("TestDangerousAlert")
    assert pending.required == 2
    handle = client.get_workflow_handle(case.id)
    first = signal_body(case.id, pending.step_id, "dave", pending.plan_hash, "tok-dave")
    await handle.signal(IncidentWorkflow.approve, first)

    async def counted() -> bool:
        return (await case.waiting()).approvals == ["dave"]

    await eventually(counted, timeout=30, what="dave's approval counted")
    await handle.signal(IncidentWorkflow.approve, first)  # the same signed signal replayed
    await handle.signal(IncidentWorkflow.approve, signal_body(  # freshly signed again
        case.id, pending.step_id, "dave", pending.plan_hash, "tok-dave"))
    refused = await refusals(case, 2)
    assert all("'dave' via signal" in r and "already approved" in r for r in refused)
    assert (await case.waiting()).approvals == ["dave"] and await case.writes() == 0
    await handle.signal(IncidentWorkflow.approve, signal_body(
        case.id, pending.step_id, "alice", pending.plan_hash, "tok-alice"))
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
    granted = _granted(view)
    assert len(granted) == 2 and "dave (1/2)" in granted[0] and "alice (2/2)" in granted[1]
    assert len([e for e in view.timeline if e.kind == "approval.refused"]) == 2
