"""Mitigate: run the runbook's steps in order, each recorded with what undoes it.

Steps whose risk needs approval (by policy, severity and environment) are first
dry-run to show exactly what will happen, then wait at the approval gate.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.common import RawValue

from workflows.support.versions import patched

with workflow.unsafe.imports_passed_through():
    from pydantic import Field

    from remediator.models.alert import Alert
    from remediator.models.approval import ApprovalPolicy
    from remediator.models.contract import Contract
    from remediator.models.guard import GuardReleased
    from remediator.models.incident import Phase
    from remediator.models.mitigation import MitigationStep, StepOutcome
    from remediator.models.policy import Timings
    from remediator.models.runbook import VerifySpec
    from remediator.models.verification import Baseline
    from remediator.severity import Severity
    from workflows.approvals.audit import REFUSED, Refusals, proof_refusals
    from workflows.approvals.gate import ApprovalGate, approvals_needed, decision_refusal
    from workflows.approvals.models import StepDecision
    from workflows.baseline import capture_baselines
    from workflows.catalogue import lookup
    from workflows.guard.client import GuardWait
    from workflows.saga import apply_step, apply_step_in_slot
    from workflows.step_rails import StepRails
    from workflows.support.seals import Inbox
    from workflows.support.signals import DECIDED, GUARD_RELEASED
    from workflows.support.timeline import PhaseResult, Recorder, before_wait


class MitigateInput(Contract):
    incident_id: str
    severity: Severity
    steps: list[MitigationStep]
    timings: Timings
    approvals: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    environment: str = "production"
    owner: str | None = None
    dry_run: bool = False
    # When given, baselines of these checks are captured before the first step.
    verify: VerifySpec | None = None
    began_at: datetime | None = None
    # Safety rails (workflows/rails.py): each mutating step takes a fleet slot from the
    # guard and first checks the incident's alerts still fire.
    guarded: bool = False
    alerts: list[Alert] = Field(default_factory=list)
    # The release that started this phase (as in its memo: ``versions.named``). Only for
    # workers of an earlier release, which refuse an unknown field: they never run a
    # phase on paths they do not know.
    release: str | None = None


class MitigateResult(PhaseResult):
    outcomes: list[StepOutcome]
    baselines: list[Baseline] = Field(default_factory=list)


@workflow.defn
class MitigateWorkflow:
    """Runbook steps applied once each (or described, in dry-run); risky ones approved first."""

    def __init__(self) -> None:
        self._rec = Recorder(Phase.MITIGATE)
        self._gate: ApprovalGate | None = None
        self._early: list[StepDecision] = []
        self._policy, self._incident_id = ApprovalPolicy(), ""
        self._refusals = Refusals()
        self._inbox = Inbox(self._rec.note)
        self._waiter = GuardWait()

    @workflow.run
    async def run(self, inp: MitigateInput) -> MitigateResult:
        return await self._rec.around(lambda: self._phase(inp))

    async def _phase(self, inp: MitigateInput) -> MitigateResult:
        self._gate = ApprovalGate(self._rec, inp.approvals)
        self._policy, self._incident_id = inp.approvals, inp.incident_id
        for early in self._early:
            self._gate.decisions[early.step_id] = early
        self._severity = inp.severity
        baselines = []
        if inp.verify is not None and inp.began_at is not None:
            baselines = await capture_baselines(inp.verify, inp.began_at, inp.timings, self._rec)
        outcomes: list[StepOutcome] = []
        rails = StepRails(inp, self._waiter) if inp.guarded else None
        for step in inp.steps:
            if rails is not None and rails.stopped is not None:  # an earlier step's rail
                outcomes.append(rails.skip(step))
                await self._rec.add("mitigation.skipped", f"{step.id}: {rails.stopped}")
                continue
            # Live only before a step that waits on a real system (a rollout); a risky
            # step's approval request is sent live anyway.
            await self._rec.add("mitigation.started", f"{step.id}: {step.action} {step.params}",
                                live=before_wait(lookup(step.action).timeout_seconds or 0.0))
            outcome = await self._approved(inp, step)
            if outcome is None and rails is not None:
                outcome = await rails.before(step)  # still firing? a fleet slot?
            if outcome is None:
                outcome, freed = await apply_step_in_slot(
                    inp.incident_id, step, inp.dry_run, inp.timings.mitigation_timeout_seconds,
                    rails.slot(step) if rails is not None else None)
                if rails is not None and not freed:
                    await rails.after(step, outcome)
            outcomes.append(outcome)
            await self._rec.add(f"mitigation.{outcome.state}", f"{step.id}: {outcome.detail}")
        return MitigateResult(outcomes=outcomes, baselines=baselines)

    async def _approved(self, inp: MitigateInput, step: MitigationStep) -> StepOutcome | None:
        """None when the step may run; otherwise the outcome that replaces running it."""
        assert self._gate is not None
        risk, required = approvals_needed(step, inp.approvals, self._severity, inp.environment)
        if required == 0 or inp.dry_run:
            return None
        plan = await apply_step(inp.incident_id, step, True, inp.timings.mitigation_timeout_seconds)
        if plan.state == "failed":
            return plan
        await self._rec.add("approval.requested",
                            f"{step.id} needs {required} approval(s): {plan.detail}", live=True)
        decision, self._severity = await self._gate.wait(
            step, risk, plan.detail, required, step.requested_by or inp.owner, self._severity)
        if decision.approved:
            return None
        return StepOutcome(step_id=step.id, action=step.action, risk=risk, state="rejected",
                           detail=f"not run: {decision.reason} ({', '.join(decision.by) or 'nobody'})")

    @workflow.signal(name=GUARD_RELEASED)
    def guard_released(self, note: GuardReleased) -> None:
        """From the guard: a fleet slot this phase waits for has freed (it asks again)."""
        self._waiter.released(note)

    @workflow.signal(name=DECIDED)
    async def decided(self, sealed: RawValue) -> None:
        """The incident's decision on a waiting step (sealed), acted on only if its signed
        proofs satisfy the step's whole policy; anything else (an early decision, a
        decision sent by anyone but the incident) is refused and recorded."""
        decision = self._inbox.open(sealed, DECIDED, StepDecision, self._from_incident)
        if decision is None:
            await self._rec.flush()
            return
        if not patched("signed-decisions"):  # recorded before proofs existed
            if self._gate is None:
                self._early.append(decision)
            else:
                self._gate.decisions[decision.step_id] = decision
            return
        gate, policy = self._gate, self._policy
        why = decision_refusal(gate.waiting if gate else None, decision, policy)
        if why is None:
            verdicts = await proof_refusals(self._incident_id, "phase", decision.proofs)
            why = next((v for v in verdicts if v is not None), None)
        if why is None and gate is not None:  # again: the step may have moved on meanwhile
            why = decision_refusal(gate.waiting, decision, policy)
        if why is not None or gate is None:
            text = self._refusals.note(decision.step_id if gate and gate.waiting else "*",
                                       ", ".join(decision.by)[:200] or "nobody",
                                       decision.step_id, "phase", why or "refused")
            if text is not None:
                await self._rec.add(REFUSED, text, live=True)
            return
        gate.decisions[decision.step_id] = decision

    def _from_incident(self, sender: str, _: object) -> bool:
        parent = workflow.info().parent
        return parent is not None and sender == parent.workflow_id
