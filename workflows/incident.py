"""The incident: five phases in the order the seed runbooks give them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.alert_shield import ForgetRequest, ShieldActivities
    from remediator.models.alert import Alert, AlertBatch, AlertStatus
    from remediator.models.approval import ApprovalRequest, ApprovalSignal
    from remediator.models.comms import CommsPolicy, Role
    from remediator.models.incident import IncidentStatus, Phase, TimelineEntry
    from remediator.models.mitigation import MitigationStep, StepOutcome
    from remediator.models.postmortem import PostmortemInput
    from remediator.models.verification import Verdict
    from remediator.severity import Severity
    from workflows.alert_group_models import IncidentClosed
    from workflows.approvals.desk import ApprovalDesk
    from workflows.approvals.models import ApprovalAnswer, PendingApproval
    from workflows.baseline import incident_began
    from workflows.detect import DetectInput, DetectResult, DetectWorkflow, environment_of
    from workflows.incident_models import IncidentInput, IncidentView, Resolution
    from workflows.incident_runs import IncidentRuns
    from workflows.mitigate import MitigateInput, MitigateWorkflow
    from workflows.occurrence import declared_alert, recurrence_note
    from workflows.postmortem import PostmortemRun, PostmortemWorkflow
    from workflows.support import search
    from workflows.support.options import CRITICAL_PATH, MITIGATION, PAPERWORK, side_effect
    from workflows.support.seals import Inbox
    from workflows.support.signals import (
        ALERTS,
        APPROVAL_REQUESTED,
        DUPLICATES,
        INCIDENT_CLOSED,
        POSTMORTEM_DRAFTED,
        RECORD,
        SEVERITY_RAISED,
    )
    from workflows.triage import TriageInput, TriageWorkflow
    from workflows.verify import VerifyInput, VerifyResult, VerifyWorkflow


@workflow.defn
class IncidentWorkflow(IncidentRuns):
    """One incident per alert group, from the first alert to the postmortem."""

    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self._id, self._input, self._runs = inp.incident_id, inp, 1
        self._alerts: dict[str, AlertStatus] = {}
        self._all_alerts: list[Alert] = []
        self._timeline: list[TimelineEntry] = []
        self._phase, self._status = Phase.DETECT, IncidentStatus.OPEN
        self._severity: Severity | None = None
        self._opened: DetectResult | None = None
        self._steps: list[StepOutcome] = []
        self._verdict: Verdict | None = None
        self._postmortem: str | None = None
        self._opened_at: datetime = workflow.now()
        self._title, self._service = "", ""
        # What the starter set at start (phase detect, status open) is already indexed.
        self._search = search.SearchAttributes()
        self._init_comms()
        self._desk = ApprovalDesk(self._id, self._record)
        self._inbox = Inbox(self._record)
        self._resolution: Resolution | None = None
        self._dry_run = False
        self._duplicates = 0
        self._recurrence = inp.recurrence
        self._declared = inp.declared
        if inp.carried is not None:
            self._restore(inp.carried)
        elif inp.declared is not None:
            self._record("incident.declared", f"by {inp.declared.by}: {inp.declared.title}")
            self._take_alerts(AlertBatch(group_key=self._id, alerts=[
                declared_alert(self._id, inp.declared, workflow.now())]))
        elif inp.alerts:
            self._take_alerts(AlertBatch(group_key=inp.group_key or self._id, alerts=inp.alerts))

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentView:
        if inp.carried is not None:  # handed over in an earlier run: the wait goes on
            self._run_clocks(inp.carried.opened.policy.comms)
            await self._await_resolution()
        else:
            await self._respond(inp)
        assert self._opened is not None
        await self._tell_group_closed(inp.group)
        review_at = self.review_due()
        self._close_comms(review_at)
        await self._write_postmortem(review_at, self._opened.policy.comms)
        self._set(phase=Phase.DONE)
        await self._finish_comms()
        return self.status()

    async def _respond(self, inp: IncidentInput) -> None:
        """Detect, triage, then mitigate and verify (or hand over) — until resolved."""
        await workflow.wait_condition(lambda: bool(self._all_alerts))
        if inp.recurrence is not None:
            self._record("incident.recurrence", recurrence_note(inp.recurrence, workflow.now()))
        declared = inp.declared
        opened = await self._phase_run(Phase.DETECT, DetectWorkflow.run, DetectInput(
            incident_id=self._id, alerts=self._all_alerts, declared=declared is not None,
            runbook_name=declared.runbook if declared else None))
        triaged = await self._phase_run(Phase.TRIAGE, TriageWorkflow.run, TriageInput(
            incident_id=self._id, title=opened.title, alerts=opened.alerts, runbook=opened.runbook))
        self._set(severity=triaged.severity, status=IncidentStatus.MITIGATING)
        self._start_comms(opened.policy.comms)
        if workflow.patched("page-security-circle"):  # added after incidents were recorded
            self._page_security_circle(triaged.notify)
        if opened.runbook is None or not opened.runbook.steps:
            await self._hand_over("no automated mitigation for this incident")
        elif inp.dry_run or opened.policy.dry_run or opened.runbook.dry_run:
            await self._shadow(opened)
        else:
            await self._mitigate_and_verify(opened)

    async def _write_postmortem(self, review_at: datetime, policy: CommsPolicy) -> None:
        """Start the review (it outlives the incident: edits, reminders) and await its draft."""
        self._set(phase=Phase.POSTMORTEM)
        await workflow.start_child_workflow(
            PostmortemWorkflow.run, PostmortemRun(doc=self._postmortem_input(), comms=policy,
                                                  review_at=review_at),
            id=f"{self._id}/{Phase.POSTMORTEM}", parent_close_policy=ParentClosePolicy.ABANDON,
            priority=PAPERWORK)
        await workflow.wait_condition(lambda: self._postmortem is not None)

    @workflow.signal(name=POSTMORTEM_DRAFTED)
    def postmortem_drafted(self, sealed: RawValue) -> None:
        """From the postmortem phase (sealed): the first draft is stored."""
        markdown = self._inbox.open(sealed, POSTMORTEM_DRAFTED, str, self._from(Phase.POSTMORTEM))
        if markdown is not None:
            self._postmortem = markdown

    async def _shadow(self, opened: DetectResult) -> None:
        """Dry run: plan every step (no approval needed, nothing changes), then hand over."""
        assert opened.runbook is not None
        self._dry_run = True
        self._record("mitigation.dry_run", "dry run: every step is planned, nothing is changed")
        planned = await self._phase_run(Phase.MITIGATE, MitigateWorkflow.run, self._mitigate_input(
            opened, opened.runbook.steps, dry_run=True))
        self._steps = planned.outcomes
        await self._hand_over("dry run: the plans above are what would have run")

    def _mitigate_input(self, opened: DetectResult, steps: list[MitigationStep],
                        dry_run: bool) -> MitigateInput:
        assert opened.runbook is not None and self._severity is not None
        return MitigateInput(
            incident_id=self._id, severity=self._severity, steps=steps,
            timings=opened.policy.timings, approvals=opened.policy.approvals,
            environment=environment_of(opened), owner=opened.runbook.owner, dry_run=dry_run,
            verify=opened.runbook.verify, began_at=incident_began(opened.alerts))

    async def _mitigate_and_verify(self, opened: DetectResult) -> None:
        """The runbook's steps, then the verify window. When it fails (the steps undone,
        severity raised) the runbook's fallback steps get one try before humans take over."""
        assert opened.runbook is not None
        plans = [p for p in (opened.runbook.steps, opened.runbook.fallback_steps) if p]
        for attempt, steps in enumerate(plans):
            if attempt:
                self._record("mitigation.fallback", "trying the runbook's fallback steps: "
                             + ", ".join(s.id for s in steps))
            checked = await self._attempt(opened, steps)
            if checked.verdict.passed:
                self._set(status=IncidentStatus.RESOLVED)
                return
        await self._hand_over(f"verification failed: {checked.verdict.detail}")

    async def _attempt(self, opened: DetectResult, steps: list[MitigationStep]) -> VerifyResult:
        """One mitigate → verify pass (baselines captured first, saga undo on failure)."""
        assert opened.runbook is not None and self._severity is not None
        timings = opened.policy.timings
        self._set(status=IncidentStatus.MITIGATING)
        applied = await self._phase_run(Phase.MITIGATE, MitigateWorkflow.run,
                                        self._mitigate_input(opened, steps, dry_run=False))
        self._steps = self._steps + applied.outcomes
        self._set(status=IncidentStatus.MONITORING)
        checked: VerifyResult = await self._phase_run(Phase.VERIFY, VerifyWorkflow.run, VerifyInput(
            incident_id=self._id, severity=self._severity, runbook=opened.runbook,
            applied=applied.outcomes, timings=timings, baselines=applied.baselines))
        self._verdict = checked.verdict
        undone = {o.step_id: o for o in checked.undone}
        self._steps = [undone.get(o.step_id, o) for o in self._steps]
        if checked.severity != self._severity:  # verify recorded why; page who it adds
            before = self.severity
            self._set(severity=checked.severity)
            self._page_next_circle(before, checked.severity)
        return checked

    async def _hand_over(self, why: str) -> None:
        """Leave the incident to humans until every alert of the group has resolved, or
        someone declares it resolved with the ``resolve`` signal."""
        self._set(status=IncidentStatus.ESCALATED)
        self._record("incident.handed_over",
                     f"{why}; waiting for the alerts to resolve or a human to resolve it")
        await self._await_resolution()

    async def _await_resolution(self) -> None:
        await self._until_resolved()  # may continue as new: the next run comes back here
        self._set(status=IncidentStatus.RESOLVED)
        by_human = self._resolution
        self._record("incident.resolved", f"declared by {by_human.by}: {by_human.reason}"
                     if by_human else "all alerts of the group resolved")

    async def _tell_group_closed(self, group: str | None) -> None:
        """The alert group that opened this incident: the next alert opens a new one."""
        if group is None:  # declared, or opened before alert groups existed
            return
        # The storm shield must stop answering for this incident before the group may
        # open the next one; if Redis is away its entry expires by itself.
        with contextlib.suppress(ActivityError):
            await workflow.execute_activity_method(
                ShieldActivities.forget_open_incident, ForgetRequest(group=group, incident_id=self._id),
                **side_effect(10, attempts=3))
        # A group that has ended routes nothing to this incident anymore: nothing to tell.
        with contextlib.suppress(FailureError):
            await workflow.get_external_workflow_handle(group).signal(
                INCIDENT_CLOSED, IncidentClosed(id=self._id, resolved_at=workflow.now()))

    @workflow.signal(name=DUPLICATES)
    def duplicates(self, count: int) -> None:
        """Repeats that changed nothing, counted at the edge and passed on in batches."""
        self._duplicates += max(count, 0)

    @workflow.signal
    def resolve(self, raw: RawValue) -> None:
        """A human hands the incident back as resolved (a Resolution; takes effect once
        handed over)."""
        resolution = self._inbox.read(raw, "resolve", Resolution)
        if resolution is not None and self._resolution is None:
            self._resolution = resolution
            self._record("incident.resolve", f"by {resolution.by}: {resolution.reason}")

    async def _phase_run(self, phase: Phase, run: Any, arg: Any) -> Any:
        self._set(phase=phase)
        result = await workflow.execute_child_workflow(
            run, arg, id=f"{self._id}/{phase}",
            priority=MITIGATION if phase == Phase.MITIGATE else CRITICAL_PATH)
        if phase == Phase.DETECT:
            self._opened = result
            self._title, self._service = result.title, result.service
            self._desk.policy = result.policy.approvals
            self._search.update(service=result.service)
        return result

    def _set(self, phase: Phase | None = None, status: IncidentStatus | None = None,
             severity: Severity | None = None) -> None:
        if phase is not None and phase != self._phase:
            self._phase = phase
            self._announce_phase()
        self._phase = phase or self._phase
        self._status = status or self._status
        self._severity = severity or self._severity
        self._search.update(phase=self._phase, status=self._status, severity=self._severity)

    @workflow.signal(name=ALERTS)
    def alerts(self, batch: AlertBatch) -> None:
        """Alerts of this group (from its alert group, or the webhook server for incidents
        opened before numbering)."""
        self._take_alerts(batch)

    def _take_alerts(self, batch: AlertBatch) -> None:
        for alert in batch.alerts:
            known = self._alerts.get(alert.fingerprint)
            self._alerts[alert.fingerprint] = alert.status
            self._all_alerts.append(alert)
            if known != alert.status:
                self._record(f"alert.{alert.status}", f"{alert.name} from {alert.source} {alert.labels}")

    @workflow.signal(name=RECORD)
    def record(self, sealed: RawValue) -> None:
        """Timeline entries from the phase workflows (sealed), in batches as they happen."""
        entries = self._inbox.open(sealed, RECORD, list[TimelineEntry], self._from_a_phase)
        if entries is not None:
            self._timeline.extend(entries)

    def _from_a_phase(self, sender: str, _: object) -> bool:
        return sender.startswith(f"{self._id}/")

    def _from(self, phase: Phase) -> Callable[[str, object], bool]:
        return lambda sender, _: sender == f"{self._id}/{phase}"

    def _postmortem_input(self) -> PostmortemInput:
        assert self._opened is not None and self._severity is not None
        return PostmortemInput(
            incident_id=self._id, title=self._opened.title, service=self._opened.service,
            severity=self._severity, status=self._status, opened_at=self._opened_at,
            closed_at=workflow.now(), alerts=self._all_alerts, steps=self._steps,
            verdict=self._verdict, timeline=self._timeline,
            commander=self._roles.get(Role.INCIDENT_COMMANDER, ""))

    @workflow.signal(name=APPROVAL_REQUESTED)
    def approval_requested(self, sealed: RawValue) -> None:
        """From the mitigate phase (sealed): a step waits for approval (shown in the UI
        and queries)."""
        pending = self._inbox.open(sealed, APPROVAL_REQUESTED, PendingApproval,
                                   self._from(Phase.MITIGATE))
        if pending is None:
            return
        self._desk.request(pending)
        self._set(status=IncidentStatus.AWAITING_APPROVAL)
        workflow.set_current_details(f"Waiting for approval of {pending.step_id}: {pending.plan}")

    @workflow.signal(name=SEVERITY_RAISED)
    def severity_raised(self, sealed: RawValue) -> None:
        """From the mitigate phase (sealed): an approval deadline passed."""
        severity = self._inbox.open(sealed, SEVERITY_RAISED, Severity, self._from(Phase.MITIGATE))
        if severity is not None:
            self._set(severity=severity)

    @workflow.signal
    async def approve(self, raw: RawValue) -> None:
        """Approve a waiting step (an ApprovalSignal naming the step and its plan hash,
        signed by the approver: ``remediator sign-decision``); refusals are recorded."""
        if (decision := self._inbox.read(raw, "approve", ApprovalSignal)) is not None:
            await self._decided(decision, True, "signal")

    @workflow.signal
    async def reject(self, raw: RawValue) -> None:
        """Reject a waiting step (signed, like ``approve``): it is skipped and recorded."""
        if (decision := self._inbox.read(raw, "reject", ApprovalSignal)) is not None:
            await self._decided(decision, False, "signal")

    @workflow.update
    async def decide(self, request: ApprovalRequest) -> ApprovalAnswer:
        """Approve or reject with an immediate answer (``accepted`` false says why not).

        The HTTP API and the CLI sign for their authenticated user and name themselves
        in ``via`` (for the audit only: the signature is the proof)."""
        return await self._decided(request, request.approve, request.via or "update")

    @decide.validator
    def _validate_decide(self, request: ApprovalRequest) -> None:
        # Past a step's cap of recorded refusals, what the policy refuses outright is
        # turned away before it reaches the history (a flood stays out of it).
        if self._desk.refusals.capped(self._desk.bucket(request.step)):
            why_not = self._desk.refusal(request, request.approve)
            if why_not is not None:
                raise ValueError(why_not)

    async def _decided(self, decision: ApprovalSignal, approve: bool,
                       path: str) -> ApprovalAnswer:
        if workflow.patched("signed-decisions"):
            request = ApprovalRequest.model_validate(
                {**decision.model_dump(), "approve": approve, "via": getattr(decision, "via", None)})
            answer = await self._desk.verified(request, path)
        else:  # recorded before decisions were signed
            answer = await self._desk.decide(decision, approve)
        if answer.decided and not self._desk.pending:
            self._set(status=IncidentStatus.MITIGATING)
            workflow.set_current_details("")
        return answer

    @workflow.query
    def pending_approvals(self) -> list[PendingApproval]:
        """Steps waiting for a decision, with their plan and plan hash."""
        return list(self._desk.pending.values())

    @workflow.query
    def status(self) -> IncidentView:
        """Phase, severity, timeline and steps of the incident, as of now."""
        opened = self._opened
        return IncidentView(
            id=self._id, status=self._status, phase=self._phase, severity=self._severity,
            title=opened.title if opened else "", service=opened.service if opened else "",
            runbook=opened.runbook.name if opened and opened.runbook else None,
            alerts=len(self._alerts), timeline=self._timeline, steps=self._steps,
            verdict=self._verdict, postmortem=self._postmortem,
            roles={str(role): user for role, user in self._roles.items()},
            acknowledged_by=self._acked_by, dry_run=self._dry_run, duplicates=self._duplicates,
            previous=self._recurrence.previous_id if self._recurrence else None,
            declared_by=self._declared.by if self._declared else None)
