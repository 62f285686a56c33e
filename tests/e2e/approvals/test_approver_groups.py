"""Groups are groups: a ``group:NAME`` allow-list entry admits the group's members and
never matches as a name, on every path a decision arrives by (update, signal, HTTP, CLI)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from remediator.models.approval import ApprovalPolicy, ApprovalSignal, group_name_refusal
from remediator.settings import Settings
from starters.incidents import DecisionRefused
from tests.conftest import ServerThread
from tests.support.approvals import Case
from tests.support.polling import eventually
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView

GROUP_NAME = "names an approver group"


@pytest.fixture
def groups(approvals: Settings) -> Settings:
    # A token whose user calls itself a group: a misconfiguration the server must not honour.
    return approvals.model_copy(update={
        "api_tokens": SecretStr("alice=tok-alice,dave=tok-dave,group:sre=tok-group")})


def test_a_group_entry_admits_members_only() -> None:
    policy = ApprovalPolicy(approvers=["alice", "group:sre"], groups={"sre": ["dave"]})
    assert policy.may_approve("alice") and policy.may_approve("dave")
    for name in ["group:sre", "GROUP:sre", " group:sre", "sre", "group:", "mallory"]:
        assert not policy.may_approve(name), name
    # Even a group that lists itself as a member does not turn its name into a person.
    odd = ApprovalPolicy(approvers=["group:sre"], groups={"sre": ["group:sre"]})
    assert not odd.may_approve("group:sre")
    assert group_name_refusal("dave") is None
    assert GROUP_NAME in (group_name_refusal("group:sre") or "")


async def test_group_name_is_refused_on_update_signal_http_and_cli(
    groups: Settings, case: Case, client: Client, approval_worker: None,
) -> None:
    from tests.support.cli import cli

    pending = await case.open()
    with pytest.raises(DecisionRefused, match=GROUP_NAME):
        await case.decide("group:sre", pending.plan_hash)

    await client.get_workflow_handle(case.id).signal(IncidentWorkflow.approve, ApprovalSignal(
        step=pending.step_id, approver="group:sre", plan_hash=pending.plan_hash))

    async def refused() -> IncidentView | None:
        view = await case.incidents.view(case.id)
        hit = [e for e in view.timeline if e.kind == "approval.refused" and GROUP_NAME in e.detail]
        return view if hit else None

    await eventually(refused, timeout=30, what="the signalled group name refused and recorded")

    body = {"step": pending.step_id, "decision": "approve", "plan_hash": pending.plan_hash}
    async with ServerThread(groups) as server, httpx.AsyncClient() as http:
        answer = await http.post(f"{server.base}/v1/incidents/{case.id}/approvals",
                                 json=body, headers={"authorization": "Bearer tok-group"})
    assert answer.status_code == 403 and GROUP_NAME in answer.json()["error"]

    as_group = groups.model_copy(update={"api_token": SecretStr("tok-group")})
    by_cli = await cli(as_group, "approve", case.id, "--step", pending.step_id, "--as",
                       "group:sre")
    assert by_cli.returncode == 1 and GROUP_NAME in by_cli.stderr

    still = await case.waiting()
    assert still.step_id == pending.step_id and still.approvals == []
    assert await case.writes() == 0
    # A member of the group decides as herself: the step runs once.
    await case.decide("dave", pending.plan_hash)
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
