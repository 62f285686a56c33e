"""Approval of risky steps: the gate a step waits at, and the rules a decision must pass.

The incident (parent) holds the pending approvals, so that its update validator can
answer a caller at once; the mitigate phase (child) waits at the gate until the
incident forwards a decision, escalating whenever the severity's deadline passes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.approval import ApprovalPolicy, ApprovalSignal, group_name_refusal
    from remediator.models.mitigation import MitigationStep, RiskLevel
    from remediator.severity import Severity, raise_one
    from workflows.approvals.models import PendingApproval, StepDecision, clipped
    from workflows.catalogue import lookup
    from workflows.support import ui, waits
    from workflows.support.signals import APPROVAL_REQUESTED, SEVERITY_RAISED
    from workflows.support.timeline import Recorder


def approvals_needed(step: MitigationStep, policy: ApprovalPolicy, severity: Severity,
                     environment: str) -> tuple[RiskLevel, int]:
    """The step's risk (the catalogue's floor applied) and how many approvals it needs
    at this severity in this environment (0: it runs without asking)."""
    risk = lookup(step.action).risk_of(step)
    return risk, policy.required(risk, severity, environment)


def plan_hash(step: MitigationStep, plan: str) -> str:
    """Names exactly what will run: the action, its parameters and the dry-run plan."""
    blob = json.dumps([step.action, step.params, plan], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def refusal(pending: PendingApproval | None, decision: ApprovalSignal, approve: bool,
            policy: ApprovalPolicy) -> str | None:
    """Why a decision cannot be accepted, or None when it can."""
    if pending is None:
        return f"step {decision.step!r} is not waiting for approval (unknown or already decided)"
    if (named_a_group := group_name_refusal(decision.approver)) is not None:
        return named_a_group
    if not policy.may_approve(decision.approver):
        return f"{decision.approver!r} is not on the approver allow-list"
    if decision.approver == pending.requested_by:
        return f"{decision.approver!r} requested this step and cannot approve it"
    if approve and decision.plan_hash != pending.plan_hash:
        return (f"plan hash {decision.plan_hash!r} does not match the current plan "
                f"{pending.plan_hash!r}: review the plan again")
    if approve and decision.approver in pending.approvals:
        return f"{decision.approver!r} already approved this step"
    return None


def decision_refusal(waiting: PendingApproval | None, decision: StepDecision,
                     policy: ApprovalPolicy) -> str | None:
    """Why the phase must not act on a forwarded decision: it has to satisfy the step's
    whole policy through its signed proofs, whoever delivered it."""
    if waiting is None or waiting.step_id != decision.step_id:
        return f"step {decision.step_id!r} is not waiting for a decision (early or unknown)"
    proofs = [p for p in decision.proofs if p.step == decision.step_id
              and p.approve == decision.approved]
    for proof in proofs:
        why = refusal(waiting, proof, proof.approve, policy)
        if why is not None:
            return why
    approvers = {p.approver for p in proofs}
    if decision.approved and len(approvers) < waiting.required:
        return (f"{len(approvers)} distinct signed approval(s) of {waiting.required} "
                f"required")
    if not decision.approved and not approvers:
        return "a rejection needs a signed decision of an approver"
    return None


class ApprovalGate:
    """Where a mitigate phase waits for the incident's decision on a step."""

    def __init__(self, rec: Recorder, policy: ApprovalPolicy, evidence: str = "") -> None:
        self._rec = rec
        self._policy = policy
        self._evidence = clipped(evidence)
        self.decisions: dict[str, StepDecision] = {}
        self.waiting: PendingApproval | None = None

    async def _tell_parent(self, signal: str, arg: object) -> None:
        parent = workflow.info().parent
        assert parent is not None, "approvals need the incident workflow"
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(signal, arg)

    @staticmethod
    def _on_timeout(step: MitigationStep, severity: Severity) -> str:
        if step.on_approval_timeout == "skip":
            return "the step is skipped"
        return f"{severity} → {raise_one(severity)}"

    async def wait(self, step: MitigationStep, risk: RiskLevel, plan: str, required: int,
                   requested_by: str | None, severity: Severity) -> tuple[StepDecision, Severity]:
        """Block until the step is decided; on each deadline, escalate or take the fallback."""
        digest = plan_hash(step, plan)
        while True:
            seconds = self._policy.deadline_seconds.get(severity, 3600.0)
            pending = PendingApproval(
                step_id=step.id, action=step.action, risk=risk, plan=plan, plan_hash=digest,
                requested_by=requested_by, required=required,
                deadline=workflow.now() + timedelta(seconds=seconds), evidence=self._evidence)
            self.waiting = pending
            await self._tell_parent(APPROVAL_REQUESTED, pending)
            workflow.set_current_details(ui.waiting_approval(pending, self._policy))
            if await waits.until(
                    lambda: step.id in self.decisions, seconds,
                    f"approval deadline of {step.id} in {ui.span(seconds)} "
                    f"({severity}): then {self._on_timeout(step, severity)}"):
                workflow.set_current_details("")
                self.waiting = None
                return self.decisions[step.id], severity
            await self._rec.add("approval.deadline_passed",
                                f"{step.id}: no decision within {seconds:g}s", live=True)
            if step.on_approval_timeout == "skip":
                return StepDecision(step_id=step.id, approved=False, by=[],
                                    reason="deadline passed: runbook fallback is to skip"), severity
            raised = raise_one(severity)
            await self._tell_parent(SEVERITY_RAISED, raised)
            await self._rec.add("severity.escalated",
                                f"{severity} → {raised}: approval of {step.id} overdue", live=True)
            severity = raised
