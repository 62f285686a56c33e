"""Fast tier: the investigation is read beside the first step. A step that needs
nothing it finds runs while the evidence is still being read; an approval request (its
card shows the evidence) and a rollback to the revision before the suspect wait for it;
the postmortem always has it."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowHandle

from remediator.models.approval import ApprovalPolicy, ApprovalRequest
from remediator.models.mitigation import MitigationStep, RiskLevel
from remediator.severity import Severity
from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.approvals.models import PendingApproval
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView
from workflows.investigation import needs_evidence


async def _triage_handled(handle: WorkflowHandle[IncidentWorkflow, object]) -> list[str]:
    """The incident's history once it has handled its triage phase's completion (the
    task after it completed): the kinds of its events, by name."""
    async def probe() -> list[str] | None:
        events = (await handle.fetch_history()).events
        kinds = [e.WhichOneof("attributes") or "" for e in events]
        done = [i for i, e in enumerate(events)
                if e.HasField("child_workflow_execution_completed_event_attributes")
                and e.child_workflow_execution_completed_event_attributes.workflow_execution
                .workflow_id.endswith("/triage")]
        if done and "workflow_task_completed_event_attributes" in kinds[done[0]:]:
            return [k.removesuffix("_event_attributes") for k in kinds]
        return None

    return await eventually(probe, timeout=30, what="the incident past its triage phase")


async def test_a_step_without_approval_runs_while_the_evidence_is_still_read(
    start_incident: Start,
) -> None:
    fakes = Fakes(runbook(), policy())
    fakes.evidence_held = asyncio.Event()
    handle = await start_incident(fakes)

    async def applied() -> bool | None:
        return bool(fakes.applied()) or None

    await eventually(applied, timeout=30, what="the step applied")
    assert len(fakes.calls["collect_evidence"]) == 1 and not fakes.evidence_held.is_set()
    view = await handle.query(IncidentWorkflow.status)
    assert "evidence.collected" not in [e.kind for e in view.timeline]
    fakes.evidence_held.set()

    done: IncidentView = await handle.result()  # type: ignore[assignment]
    assert done.status == "resolved" and len(fakes.applied()) == 1
    [collected] = [e for e in done.timeline if e.kind == "evidence.collected"]
    assert collected.phase == "triage" and collected.detail == "flags: 1 flag change(s)"
    [doc] = fakes.calls["store_postmortem"]
    assert doc.evidence is not None and doc.evidence.sources[0].source == "flags"
    assert len(fakes.calls["collect_evidence"]) == 1


async def test_an_approval_request_waits_for_the_evidence_it_shows(start_incident: Start) -> None:
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["alice"]))
    fakes.evidence_held = asyncio.Event()
    handle = await start_incident(fakes)

    kinds = await _triage_handled(handle)
    # Triage is over, and no mitigate phase was started: not even the step's plan ran.
    assert kinds.count("start_child_workflow_execution_initiated") == 2  # detect, triage
    assert fakes.calls["set_flag"] == [] and fakes.calls["collect_evidence"]
    assert await handle.query(IncidentWorkflow.pending_approvals) == []
    fakes.evidence_held.set()

    async def waiting() -> PendingApproval | None:
        return next(iter(await handle.query(IncidentWorkflow.pending_approvals)), None)

    pending = await eventually(waiting, timeout=30, what="the step waiting for approval")
    assert pending.evidence.startswith("suspect: no change found"), pending.evidence
    assert "flags: 1 flag change(s)" in pending.evidence
    answer = await handle.execute_update(IncidentWorkflow.decide, ApprovalRequest(
        step=pending.step_id, approver="alice", plan_hash=pending.plan_hash))
    assert answer.accepted
    done: IncidentView = await handle.result()  # type: ignore[assignment]
    assert done.status == "resolved" and len(fakes.applied()) == 1


async def test_a_dry_run_plans_a_rollback_to_before_the_suspect_only_once_it_is_known(
    start_incident: Start,
) -> None:
    """The plan names the revision before the suspect, so it waits for the evidence
    (a step that needs nothing of it is planned at once: the first test)."""
    book = runbook().model_copy(update={"dry_run": True, "steps": [MitigationStep(
        id="back", action="kubernetes.rollout_undo", params={
            "namespace": "shop", "deployment": "checkout", "to_revision": "before_suspect"})]})
    fakes = Fakes(book, policy())
    fakes.evidence_held = asyncio.Event()
    handle = await start_incident(fakes)
    kinds = await _triage_handled(handle)
    assert kinds.count("start_child_workflow_execution_initiated") == 2  # detect, triage
    assert fakes.calls["rollback_deployment"] == []
    fakes.evidence_held.set()

    async def planned() -> IncidentView | None:
        view = await handle.query(IncidentWorkflow.status)
        return view if view.status == "escalated" else None

    view = await eventually(planned, timeout=30, what="the plan, then the hand-over")
    [(request, evidence_in)] = fakes.calls["rollback_deployment"]
    assert request.dry_run and evidence_in
    assert [s.state for s in view.steps] == ["dry_run"]


def test_what_a_step_needs_of_the_investigation() -> None:
    """The rule the incident waits by: a rollback to before the suspect (even as a
    plan), or an approval at this severity in this environment."""
    approvals = ApprovalPolicy()
    flag = MitigationStep(id="flip", action="feature_flag.set", risk=RiskLevel.RISKY,
                          params={"flag": "checkout-v2", "value": "off"})
    back = MitigationStep(id="back", action="kubernetes.rollout_undo", params={
        "namespace": "shop", "deployment": "checkout", "to_revision": "before_suspect"})
    low = flag.model_copy(update={"risk": RiskLevel.LOW})
    assert not needs_evidence([low], approvals, Severity.P1, "production", dry_run=False)
    # Risky: approved in production, not in staging (the default rules); a plan needs none.
    assert needs_evidence([low, flag], approvals, Severity.P1, "production", dry_run=False)
    assert not needs_evidence([flag], approvals, Severity.P1, "staging", dry_run=False)
    assert not needs_evidence([flag], approvals, Severity.P1, "production", dry_run=True)
    assert needs_evidence([back], approvals, Severity.P3, "staging", dry_run=True)
