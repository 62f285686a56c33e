"""Fast tier: a risky step waits at the approval gate; the policy decides who may
approve; a deadline escalates (activities faked by name, signatures faked valid)."""

from __future__ import annotations

from temporalio.client import WorkflowHandle

from remediator.models.approval import ApprovalRequest
from remediator.models.mitigation import RiskLevel
from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.approvals.models import PendingApproval
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView


async def _waiting(handle: WorkflowHandle[IncidentWorkflow, object]) -> PendingApproval:
    async def probe() -> PendingApproval | None:
        return next(iter(await handle.query(IncidentWorkflow.pending_approvals)), None)

    return await eventually(probe, timeout=30, what="a step waiting for approval")


async def test_a_risky_step_runs_only_after_an_approver_approves_its_plan(
    start_incident: Start,
) -> None:
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["alice", "bob"]))
    handle = await start_incident(fakes)
    pending = await _waiting(handle)
    assert pending.required == 1 and "checkout-v2" in pending.plan
    assert fakes.applied() == [], "only the dry-run plan ran while it waits"

    def decision(who: str, plan_hash: str | None = pending.plan_hash) -> ApprovalRequest:
        return ApprovalRequest(step=pending.step_id, approver=who, plan_hash=plan_hash)

    for refused, why in [(decision("mallory"), "allow-list"),
                         (decision("team-checkout"), "allow-list"),
                         (decision("alice", "0" * 16), "plan hash")]:
        answer = await handle.execute_update(IncidentWorkflow.decide, refused)
        assert not answer.accepted and why in answer.detail
    answer = await handle.execute_update(IncidentWorkflow.decide, decision("alice"))
    assert answer.accepted and answer.decided
    view: IncidentView = await handle.result()  # type: ignore[assignment]
    assert view.status == "resolved" and len(fakes.applied()) == 1
    assert [s.state for s in view.steps] == ["applied"]
    # Checked where it entered, and again by the phase before the step ran.
    assert [c.path for c in fakes.calls["check_decisions"]] == ["update", "phase"]


async def test_a_decision_whose_proof_fails_is_refused_and_nothing_runs(
    start_incident: Start,
) -> None:
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["alice"]))
    fakes.proofs_valid = False
    handle = await start_incident(fakes)
    pending = await _waiting(handle)
    answer = await handle.execute_update(IncidentWorkflow.decide, ApprovalRequest(
        step=pending.step_id, approver="alice", plan_hash=pending.plan_hash))
    assert not answer.accepted and "does not prove" in answer.detail
    view = await handle.query(IncidentWorkflow.status)
    assert view.status == "awaiting_approval" and fakes.applied() == []
    assert any(e.kind == "approval.refused" for e in view.timeline)


async def test_an_overdue_approval_raises_the_severity_and_keeps_waiting(
    start_incident: Start,
) -> None:
    deadlines = policy(approvers=["alice"])
    deadlines.approvals.deadline_seconds = {s: 1.0 for s in deadlines.approvals.deadline_seconds}
    fakes = Fakes(runbook(RiskLevel.RISKY), deadlines)
    handle = await start_incident(fakes)
    first = await _waiting(handle)
    before = (await handle.query(IncidentWorkflow.status)).severity

    async def escalated() -> IncidentView | None:
        view = await handle.query(IncidentWorkflow.status)
        return view if any(e.kind == "severity.escalated" for e in view.timeline) else None

    view = await eventually(escalated, timeout=30, what="the overdue approval escalated")
    assert before is not None and view.severity is not None
    assert view.severity < before, f"{before} went up a level, not to {view.severity}"
    assert view.status == "awaiting_approval" and fakes.applied() == []
    assert first.deadline is not None
