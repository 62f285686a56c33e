"""The incident's side of approvals: pending steps, decisions, forwarding to the phase."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.slack.cards import CardState
    from remediator.models.approval import ApprovalPolicy, ApprovalRequest, ApprovalSignal
    from remediator.models.incident import Phase
    from workflows.approvals.audit import REFUSED, UNKNOWN_STEP, Refusals, proof_refusals
    from workflows.approvals.chat import ApprovalChat
    from workflows.approvals.gate import refusal
    from workflows.approvals.models import ApprovalAnswer, PendingApproval, StepDecision, clipped
    from workflows.support.signals import DECIDED


class ApprovalDesk:
    """Validates each decision, counts distinct approvers, and tells the mitigate phase."""

    def __init__(self, incident_id: str, record: Callable[[str, str], None]) -> None:
        self._incident_id = incident_id
        self._record = record
        self.pending: dict[str, PendingApproval] = {}
        self.policy = ApprovalPolicy()
        self.refusals = Refusals()
        self._proofs: dict[str, list[ApprovalRequest]] = {}
        self._chat = ApprovalChat(incident_id, record)
        # The incident's evidence summary (README "Evidence"), shown on every request
        # whose phase did not bring its own.
        self.evidence = ""

    def request(self, pending: PendingApproval) -> None:
        if not pending.evidence and self.evidence:
            pending = pending.model_copy(update={"evidence": clipped(self.evidence)})
        self.pending[pending.step_id] = pending
        if self._chat.enabled(self.policy.chat):
            self._chat.requested(pending)

    def refusal(self, decision: ApprovalSignal, approve: bool) -> str | None:
        return refusal(self.pending.get(decision.step), decision, approve, self.policy)

    def bucket(self, step: str) -> str:
        return step if step in self.pending else UNKNOWN_STEP

    async def verified(self, decision: ApprovalRequest, path: str) -> ApprovalAnswer:
        """Apply a decision only once it passes the policy and proves its approver; a
        refused one is audited (timeline, capped per step, and a log line)."""
        why_not = self.refusal(decision, decision.approve)
        if why_not is None:
            why_not = (await proof_refusals(self._incident_id, path, [decision]))[0]
        if why_not is None:  # the policy again: another decision may have landed meanwhile
            why_not = self.refusal(decision, decision.approve)
        if why_not is not None:
            text = self.refusals.note(self.bucket(decision.step), decision.approver,
                                      decision.step, path, why_not)
            if text is not None:
                self._record(REFUSED, text)
            return ApprovalAnswer(step=decision.step, accepted=False, approvals=[], required=0,
                                  decided=False, detail=why_not)
        self._proofs.setdefault(decision.step, []).append(decision)
        return await self.decide(decision, decision.approve)

    async def decide(self, decision: ApprovalSignal, approve: bool) -> ApprovalAnswer:
        """Apply a decision; a refused one is recorded and changes nothing."""
        why_not = self.refusal(decision, approve)
        pending = self.pending.get(decision.step)
        if why_not is not None or pending is None:
            self._record("approval.refused", f"{decision.step}: {why_not}")
            return ApprovalAnswer(step=decision.step, accepted=False, approvals=[], required=0,
                                  decided=False, detail=why_not or "refused")
        if not approve:
            self._record("approval.rejected",
                         f"{decision.step} rejected by {decision.approver}: {decision.reason}")
            self._show(pending, "rejected", [decision.approver], decision.reason)
            await self._forward(StepDecision(step_id=decision.step, approved=False,
                                             by=[decision.approver], reason=decision.reason,
                                             proofs=self._proofs_of(decision, False)))
            return self._answer(pending, True, "rejected: the step will not run")
        pending.approvals.append(decision.approver)
        self._record("approval.granted", f"{decision.step} approved by {decision.approver} "
                     f"({len(pending.approvals)}/{pending.required}): {decision.reason}")
        if len(pending.approvals) < pending.required:
            self._show(pending, "counted", [], decision.reason)
            return self._answer(pending, False, "approval counted; more approvers needed")
        self._show(pending, "approved", list(pending.approvals), decision.reason)
        await self._forward(StepDecision(step_id=decision.step, approved=True,
                                         by=list(pending.approvals), reason=decision.reason,
                                         proofs=self._proofs_of(decision, True)))
        return self._answer(pending, True, "approved: the step runs now")

    def _show(self, pending: PendingApproval, state: CardState, by: list[str],
              reason: str) -> None:
        if self._chat.enabled(self.policy.chat):
            self._chat.decided(pending, state, by, reason)

    def _proofs_of(self, decision: ApprovalSignal, approve: bool) -> list[ApprovalRequest]:
        proofs = [p for p in self._proofs.pop(decision.step, []) if p.approve == approve]
        return [p for p in proofs if approve or p.approver == decision.approver]

    def _answer(self, pending: PendingApproval, decided: bool, detail: str) -> ApprovalAnswer:
        return ApprovalAnswer(step=pending.step_id, accepted=True, approvals=pending.approvals,
                              required=pending.required, decided=decided, detail=detail)

    async def _forward(self, decision: StepDecision) -> None:
        del self.pending[decision.step_id]
        summary = self.refusals.summary(decision.step_id)
        if summary is not None:
            self._record(REFUSED, summary)
        child = workflow.get_external_workflow_handle(f"{self._incident_id}/{Phase.MITIGATE}")
        await child.signal(DECIDED, decision)
