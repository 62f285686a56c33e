"""The incident: five phases in the order the seed runbooks give them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, FailureError
from temporalio.workflow import ParentClosePolicy

from workflows.support.versions import RELEASES, named, patched

with workflow.unsafe.imports_passed_through():
    from activities.alert_shield import ForgetRequest, ShieldActivities
    from activities.postmortem.store import PostmortemActivities
    from remediator.models.alert import (
        ALERT_LABELS,
        ALERTS_FIRING,
        AlertBatch,
        AlertStatus,
        common_labels,
    )
    from remediator.models.approval import ApprovalRequest, ApprovalSignal
    from remediator.models.comms import Acknowledgement, CommsPolicy, Role, RoleAssignment
    from remediator.models.contract import Contract
    from remediator.models.evidence import EvidenceSummary
    from remediator.models.guard import Admission, GuardReleased
    from remediator.models.incident import IncidentStatus, Phase, TimelineEntry
    from remediator.models.mitigation import MitigationStep
    from remediator.models.policy import Timings
    from remediator.models.postmortem import PostmortemInput, PostmortemResult
    from remediator.models.runbook import VerifySpec
    from remediator.severity import Severity, more_severe
    from workflows.alert_group_models import IncidentClosed
    from workflows.approvals.desk import ApprovalDesk
    from workflows.approvals.models import ApprovalAnswer, PendingApproval
    from workflows.baseline import incident_began
    from workflows.comms.clocks import LATE_SEV1, LATE_SEV1_RELEASE
    from workflows.comms.responders import Responders
    from workflows.detect import DetectInput, DetectResult, DetectWorkflow, environment_of
    from workflows.incident_cards import phase_card, postmortem_card
    from workflows.incident_models import IncidentInput, IncidentView, Resolution, SeverityChange
    from workflows.incident_runs import (
        IncidentRuns,
        restored,
        restored_responders,
        restored_search,
    )
    from workflows.incident_state import IncidentState
    from workflows.investigation import Investigation, needs_evidence
    from workflows.mitigate import MitigateInput, MitigateWorkflow
    from workflows.occurrence import declared_alert, recurrence_note
    from workflows.postmortem import FirstDraft, PostmortemRun, PostmortemWorkflow
    from workflows.postmortem_draft import draft_findings
    from workflows.rails import Rails
    from workflows.support import search, ui
    from workflows.support.options import (
        CRITICAL_PATH,
        MITIGATION,
        PAPERWORK,
        local,
        side_effect,
    )
    from workflows.support.seals import Inbox
    from workflows.support.signals import (
        ALERTS,
        APPROVAL_REQUESTED,
        DUPLICATES,
        GUARD_RELEASED,
        INCIDENT_CLOSED,
        POSTMORTEM_DRAFTED,
        POSTMORTEM_WRITTEN,
        RECORD,
        SEVERITY_RAISED,
    )
    from workflows.support.timeline import PhaseResult
    from workflows.triage import TriageInput, TriageResult, TriageWorkflow
    from workflows.verify import VerifyInput, VerifyResult, VerifyWorkflow, WindowPlan

PhaseWorkflow = TypeVar("PhaseWorkflow")
LOCAL_FORGET = "forget-open-incident-locally"
EARLY_ADMISSION = "admitted-beside-triage"
ONE_SIGNAL_DRAFT = "postmortem-draft-in-one-signal"
# Since release-2026-12-k the storm shield forgets the incident and its group is told it
# closed while the postmortem starts: both are awaited before the incident completes,
# not before the review starts (an upsert fewer, and a workflow task fewer unless a query
# answered during the forget's local activity makes Core complete the task early).
GROUP_TOLD_BESIDE_POSTMORTEM = "group-told-beside-postmortem"
TOLD_RELEASE = "release-2026-12-k"
# Since release-2026-12-l the incident opens the verify window as it starts the phase,
# and records the opening itself: no signal back from the phase (~9 events fewer).
WINDOW_OPENED_BY_INCIDENT = "verify-window-opened-by-incident"
WINDOW_RELEASE = "release-2026-12-l"
# Since release m a phase's severity only ever raises the incident's (``_raises``).
ONLY_RAISED = "phase-severity-only-raises"
# Since release-2026-12-n the incident stores the postmortem's first draft itself and
# starts the review with it: no signal back from the phase (~9 events fewer).
DRAFT_BY_INCIDENT = "first-draft-by-incident"
DRAFT_RELEASE = "release-2026-12-n"
# Since release n what detect found (service, title, runbook) is indexed with what triage
# decides (severity, status, the next phase), in one upsert: triage runs no activity and
# takes moments, and an upsert of its own was one more history event and visibility write.
INDEXED_AFTER_TRIAGE = "indexed-after-triage"
# Since release n the close's status (resolved) and phases (postmortem, then done) are
# indexed once, as the review starts: the first draft is stored between them, moments
# apart, and two upserts were one event more. The incident's own view has them at once.
CLOSE_INDEXED_ONCE = "close-indexed-once"
FORGET_SUMMARY = "storm shield: stop routing the group's alerts to this incident"
PhaseIn = TypeVar("PhaseIn", bound=Contract)
PhaseOut = TypeVar("PhaseOut", bound=PhaseResult)


@workflow.defn
class IncidentWorkflow:
    """One incident per alert group, from the first alert to the postmortem.

    It composes the parts that react to it — the responders (roles, messages, clocks),
    the approval desk, the runs that carry a long hand-over across continue-as-new — and
    declares every handler itself, delegating to them."""

    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        if inp.carried is not None:  # an earlier run handed on: go on from its state
            self._state = restored(inp.incident_id, inp.carried)
            self._search = restored_search(inp.carried)
            self._responders = restored_responders(self._state, inp.carried, self._raise_to)
        else:
            self._state = IncidentState(id=inp.incident_id, opened_at=workflow.now())
            # What the starter set at start (phase detect, status open) is already indexed.
            self._search = search.SearchAttributes()
            self._responders = Responders(self._state, self._raise_to)
        self._desk = ApprovalDesk(inp.incident_id, self._state.record)
        if inp.carried is not None:
            self._desk.policy = inp.carried.opened.policy.approvals
            if inp.carried.evidence is not None:
                self._desk.evidence = inp.carried.evidence.text()
        self._inbox = Inbox(self._state.record)
        self._runs = IncidentRuns(self._state, self._responders, inp)
        self._recurrence = inp.recurrence
        self._rails = Rails(self._state, inp.group)
        self._declared = inp.declared
        self._showing = ""
        self._investigation: Investigation | None = None
        self._group_told: asyncio.Task[None] | None = None
        if inp.carried is None:
            self._take_first_alerts(inp)

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentView:
        if inp.carried is not None:  # handed over in an earlier run: the wait goes on
            self._responders.run_clocks(inp.carried.opened.policy.comms)
            self._show(ui.handed_over("handed over to humans in an earlier run"))
            await self._await_resolution()
        else:
            opened = await self._detect(inp)
            admission = self._admission_beside_triage(inp, opened)
            if Investigation.beside_the_first_step():  # else triage reads it, before any step
                self._investigation = Investigation(self._state, opened, self._found)
            indexed_after_triage = patched(INDEXED_AFTER_TRIAGE, since=DRAFT_RELEASE)
            if indexed_after_triage:
                self._search.hold()
            await self._triage(opened)
            if indexed_after_triage:
                self._search.release()
            await self._mitigate_and_verify(inp, opened, admission)  # or a dry run, a hand-over
        review_at = await self._close(inp.group)
        await self._postmortem(review_at)
        if self._group_told is not None:  # delivered long before, as a rule
            await self._group_told
        self._search.flush()
        return self.status()

    # --- the phases ------------------------------------------------------------------
    async def _detect(self, inp: IncidentInput) -> DetectResult:
        """Alerts normalised, deduplicated and recorded; the runbook found."""
        await workflow.wait_condition(lambda: bool(self._state.all_alerts))
        if inp.recurrence is not None:
            self._state.record("incident.recurrence",
                               recurrence_note(inp.recurrence, workflow.now()))
        declared = inp.declared
        opened = await self._phase_run(Phase.DETECT, DetectWorkflow.run, DetectInput(
            incident_id=self._state.id, alerts=self._state.all_alerts,
            declared=declared is not None, runbook_name=declared.runbook if declared else None))
        self._state.opened = opened
        self._state.title, self._state.service = opened.title, opened.service
        self._desk.policy = opened.policy.approvals
        indexed: dict[str, str | None] = {}
        if patched(search.UI_PATCH, since=search.UI_RELEASE):  # one upsert, as before
            indexed = {"title": opened.title,
                       "runbook": opened.runbook.name if opened.runbook else None}
        self._search.update(service=opened.service, **indexed)
        return opened

    async def _triage(self, opened: DetectResult) -> TriageResult:
        """Severity, the response team, and the incident declared to its responders."""
        triaged = await self._phase_run(Phase.TRIAGE, TriageWorkflow.run, TriageInput(
            incident_id=self._state.id, title=opened.title, alerts=opened.alerts,
            runbook=opened.runbook, investigated=self._investigation is not None))
        self._set(severity=triaged.severity, status=IncidentStatus.MITIGATING)
        if triaged.evidence is not None:  # recorded before the incident read it itself
            self._found(triaged.evidence)
        self._responders.start(opened.policy.comms)
        if patched("page-security-circle"):  # added after incidents were recorded
            self._responders.page_security_circle(triaged.notify)
        return triaged

    async def _mitigate_and_verify(self, inp: IncidentInput, opened: DetectResult,
                                   early: asyncio.Task[Admission] | None) -> None:
        """The runbook's steps then the verify window — a dry run plans them instead, and
        with no steps to run humans take over at once."""
        if opened.runbook is None or not opened.runbook.steps:
            await self._hand_over("no automated mitigation for this incident")
        elif self._dry_run(inp, opened):
            await self._shadow(opened)
        elif await self._admitted(inp, opened, early):
            await self._remediate(opened)

    @staticmethod
    def _dry_run(inp: IncidentInput, opened: DetectResult) -> bool:
        return inp.dry_run or opened.policy.dry_run or bool(opened.runbook and opened.runbook.dry_run)

    def _admission_beside_triage(self, inp: IncidentInput,
                                 opened: DetectResult) -> asyncio.Task[Admission] | None:
        """The rails' admission, asked as soon as the runbook is known (since
        release-2026-12-e): the targets lock while triage declares the incident, and the
        first step is one round trip nearer the alert. None: asked after triage (an
        incident recorded before), or not at all (no steps, a dry run, no rails)."""
        if opened.runbook is None or not opened.runbook.steps or self._dry_run(inp, opened):
            return None
        if not patched(EARLY_ADMISSION, since="release-2026-12-e") or not self._rails.on:
            return None
        return asyncio.create_task(self._admit(inp, opened))

    async def _admit(self, inp: IncidentInput, opened: DetectResult) -> Admission:
        runbook = opened.runbook
        assert runbook is not None
        if inp.recurrence is not None:
            await self._rails.recurred(runbook)
        return await self._rails.admit(runbook, opened.policy.timings.lock_wait_seconds)

    async def _admitted(self, inp: IncidentInput, opened: DetectResult,
                        early: asyncio.Task[Admission] | None) -> bool:
        """The safety rails shared with every other incident: the runbook's targets locked
        for this one, or shadow mode (paused, a maintenance window), or humans take over
        (target busy, cooling down, the runbook blocked on it) — the page says why."""
        if early is not None:
            admission = await early
        elif not self._rails.on:
            return True
        else:
            admission = await self._admit(inp, opened)
        if admission.mode == "shadow":
            await self._shadow(opened, why=admission.detail)
        elif not admission.granted:
            self._responders.page(opened.policy.comms.oncall,
                                  f"automation held back: {admission.detail}")
            await self._hand_over(f"safety rails: {admission.detail}")
        return admission.mode == "live" and admission.granted

    async def _postmortem(self, review_at: datetime) -> None:
        """The review starts (edits, reminders); the incident ends once its draft exists."""
        assert self._state.opened is not None
        await self._investigated()  # the draft's "Evidence" section
        await self._write_postmortem(review_at, self._state.opened.policy.comms)
        self._set(phase=Phase.DONE)
        self._search.release()  # (a no-op unless the close held the index back)
        self._show(f"### Done ({self._state.status})\n\nThe postmortem is in "
                   f"`{self._state.id}/{Phase.POSTMORTEM}`.")
        await self._responders.finish()

    # --- mechanics of the phases -----------------------------------------------------
    async def _phase_run(self, phase: Phase,
                         run: Callable[[PhaseWorkflow, PhaseIn], Awaitable[PhaseOut]],
                         arg: PhaseIn, started: Callable[[], None] | None = None) -> PhaseOut:
        """Run one phase as the child workflow ``<incident id>/<phase>``; ``started``:
        called once it exists (in the task its start wakes anyway)."""
        self._set(phase=phase)
        card = phase_card(self._state, phase, arg)
        self._show(card.current)
        child = await workflow.start_child_workflow(
            run, arg.model_copy(update={"release": RELEASES[0]}), id=f"{self._state.id}/{phase}",
            priority=MITIGATION if phase == Phase.MITIGATE else CRITICAL_PATH,
            memo=named(), static_summary=card.summary, static_details=card.details)
        if started is not None:
            started()
        result = await child
        self._state.timeline.extend(result.timeline)  # what the phase had not sent live
        return result

    async def _shadow(self, opened: DetectResult, why: str = "dry run") -> None:
        """Dry run: plan every step (no approval needed, nothing changes), then hand over.
        ``why``: a dry run asked for, or shadow mode (automation paused, a maintenance
        window)."""
        assert opened.runbook is not None
        self._state.dry_run = True
        self._state.record("mitigation.dry_run", f"{why}: every step is planned, nothing is changed")
        await self._evidence_for(opened, opened.runbook.steps, dry_run=True)
        planned = await self._phase_run(Phase.MITIGATE, MitigateWorkflow.run, self._mitigate_input(
            opened, opened.runbook.steps, dry_run=True))
        self._state.steps = planned.outcomes
        await self._hand_over(f"{why}: the plans above are what would have run")

    def _mitigate_input(self, opened: DetectResult, steps: list[MitigationStep],
                        dry_run: bool) -> MitigateInput:
        assert opened.runbook is not None and self._state.severity is not None
        return MitigateInput(
            incident_id=self._state.id, severity=self._state.severity, steps=steps,
            timings=opened.policy.timings, approvals=opened.policy.approvals,
            environment=environment_of(opened), owner=opened.runbook.owner, dry_run=dry_run,
            verify=opened.runbook.verify, began_at=incident_began(opened.alerts),
            guarded=self._rails.on and not dry_run, alerts=self._state.all_alerts)

    async def _remediate(self, opened: DetectResult) -> None:
        """The runbook's steps, then the verify window. When it fails (the steps undone,
        severity raised) the runbook's fallback steps get one try before humans take over."""
        assert opened.runbook is not None
        plans = [p for p in (opened.runbook.steps, opened.runbook.fallback_steps) if p]
        for attempt, steps in enumerate(plans):
            if attempt:
                self._state.record("mitigation.fallback", "trying the runbook's fallback steps: "
                                   + ", ".join(s.id for s in steps))
            checked = await self._attempt(opened, steps, last=attempt == len(plans) - 1)
            if checked.verdict.passed:
                await self._rails.release()
                self._set(status=IncidentStatus.RESOLVED)
                return
        await self._rails.release()
        await self._hand_over(f"verification failed: {checked.verdict.detail}")

    async def _attempt(self, opened: DetectResult, steps: list[MitigationStep],
                       last: bool) -> VerifyResult:
        """One mitigate → verify pass (baselines captured first, saga undo on failure);
        ``last``: no fallback follows it."""
        state = self._state
        assert opened.runbook is not None and state.severity is not None
        timings = opened.policy.timings
        self._set(status=IncidentStatus.MITIGATING)
        await self._evidence_for(opened, steps, dry_run=False)
        applied = await self._phase_run(Phase.MITIGATE, MitigateWorkflow.run,
                                        self._mitigate_input(opened, steps, dry_run=False))
        state.steps = state.steps + applied.outcomes
        self._set(status=IncidentStatus.MONITORING)
        window = self._open_window(opened.runbook.verify, timings, state.severity)
        checked = await self._phase_run(Phase.VERIFY, VerifyWorkflow.run, VerifyInput(
            incident_id=state.id, severity=state.severity, runbook=opened.runbook,
            applied=applied.outcomes, timings=timings, baselines=applied.baselines,
            window=window), started=lambda: self._window_opened(window))
        state.verdict = checked.verdict
        if self._rails.on:
            passed = checked.verdict.passed
            counted = await self._rails.verified(opened.runbook, passed, last=passed or last)
            if counted.circuit_tripped:
                self._responders.page(opened.policy.comms.oncall, counted.detail)
        undone = {o.step_id: o for o in checked.undone}
        state.steps = [undone.get(o.step_id, o) for o in state.steps]
        if self._raises(checked.severity):  # verify recorded why
            self._severity_to(checked.severity)
        return checked

    def _severity_to(self, severity: Severity, page: bool = True) -> None:
        """The incident takes ``severity`` (search attributes, clocks); ``page``: whom the
        new level adds is paged (seed 04's "who to notify")."""
        before = self._state.level
        self._set(severity=severity)
        if page:
            self._responders.page_next_circle(before, severity)

    def _raises(self, reported: Severity) -> bool:
        """Whether a phase's severity (from the one it started with) changes the incident's.
        Since release m only a raise does: the severity may have gone up meanwhile (the
        ladder, a human) and a phase that passes must not bring it back down."""
        if not patched(ONLY_RAISED, since=LATE_SEV1_RELEASE):
            return reported != self._state.severity
        return more_severe(reported, self._state.level) != self._state.level

    @staticmethod
    def _open_window(spec: VerifySpec, timings: Timings, severity: Severity) -> WindowPlan | None:
        """The verify window opens now, as the mitigation ends (release-2026-12-l);
        None: the phase opens it (an incident recorded before)."""
        if not patched(WINDOW_OPENED_BY_INCIDENT, since=WINDOW_RELEASE):
            return None
        return WindowPlan.opening(spec, timings, severity, workflow.now())

    def _window_opened(self, window: WindowPlan | None) -> None:
        """On the timeline once the verify phase exists, so a human who reads it can
        move the window at once (``remediator verify``); timed when it opened."""
        if window is not None:
            self._state.record("verify.window_started", window.detail(), phase=Phase.VERIFY,
                               at=window.started_at)

    async def _hand_over(self, why: str) -> None:
        """Leave the incident to humans until every alert of the group has resolved, or
        someone declares it resolved with the ``resolve`` signal."""
        self._set(status=IncidentStatus.ESCALATED)
        self._show(ui.handed_over(why))
        self._state.record("incident.handed_over",
                           f"{why}; waiting for the alerts to resolve or a human to resolve it")
        await self._await_resolution()

    async def _await_resolution(self) -> None:
        await self._investigated()  # before a wait that may continue as new without it
        await self._runs.until_resolved()  # may continue as new: the next run comes back here
        self._set(status=IncidentStatus.RESOLVED)
        by_human = self._state.resolution
        self._state.record("incident.resolved", f"declared by {by_human.by}: {by_human.reason}"
                           if by_human else "all alerts of the group resolved")

    async def _close(self, group: str | None) -> datetime:
        """The incident is over: its group is told (delivered while the review starts), its
        responders get the all-clear. Returns when the review is due."""
        if patched(CLOSE_INDEXED_ONCE, since=DRAFT_RELEASE):
            self._search.hold()  # released once done: see CLOSE_INDEXED_ONCE
        await self._tell_group_closed(group)
        review_at = self._responders.review_due()
        self._responders.close(review_at)
        return review_at

    async def _tell_group_closed(self, group: str | None) -> None:
        """The alert group that opened this incident: the next alert opens a new one."""
        if group is None:  # declared, or opened before alert groups existed
            return
        if patched(GROUP_TOLD_BESIDE_POSTMORTEM, since=TOLD_RELEASE):
            self._group_told = asyncio.create_task(self._forget_and_tell(group))
        else:
            await self._forget_and_tell(group)

    async def _forget_and_tell(self, group: str) -> None:
        # The storm shield must stop answering for this incident before the group may
        # open the next one; if Redis is away its entry expires by itself.
        forget = ForgetRequest(group=group, incident_id=self._state.id)
        with contextlib.suppress(ActivityError):
            if patched(LOCAL_FORGET):  # one marker instead of a task round trip
                await workflow.execute_local_activity_method(
                    ShieldActivities.forget_open_incident, forget,
                    **local(side_effect(10, attempts=3)), summary=FORGET_SUMMARY)
            else:
                await workflow.execute_activity_method(
                    ShieldActivities.forget_open_incident, forget, **side_effect(10, attempts=3),
                    summary=FORGET_SUMMARY)
        # A group that has ended routes nothing to this incident anymore: nothing to tell.
        with contextlib.suppress(FailureError):
            await workflow.get_external_workflow_handle(group).signal(
                INCIDENT_CLOSED, IncidentClosed(id=self._state.id, resolved_at=workflow.now()))

    async def _write_postmortem(self, review_at: datetime, policy: CommsPolicy) -> None:
        """Start the review (it outlives the incident: edits, reminders) and await its draft."""
        self._set(phase=Phase.POSTMORTEM)
        card = postmortem_card(self._state, review_at)
        self._show(card.current)
        doc, first = self._postmortem_input(), None
        if patched(DRAFT_BY_INCIDENT, since=DRAFT_RELEASE):
            doc = draft_findings(doc, review_at, workflow.now(), policy.action_item_due_seconds)
            first = await self._store_first_draft(doc)
        await workflow.start_child_workflow(
            PostmortemWorkflow.run, PostmortemRun(
                doc=doc, comms=policy, review_at=review_at,
                one_signal=patched(ONE_SIGNAL_DRAFT, since="release-2026-12-e"),
                first_draft=first, release=RELEASES[0]),
            id=f"{self._state.id}/{Phase.POSTMORTEM}",
            parent_close_policy=ParentClosePolicy.ABANDON, priority=PAPERWORK, memo=named(),
            static_summary=card.summary, static_details=card.details)
        # An incident of an earlier release waits for the phase's signal with the draft.
        await workflow.wait_condition(lambda: self._state.postmortem is not None)

    async def _store_first_draft(self, doc: PostmortemInput) -> PostmortemResult:
        """The review document's first draft, stored and on the incident's record before
        the review starts (since release-2026-12-n; the phase used to store it and signal
        it back: a signal and a workflow task on each side)."""
        stored = await workflow.execute_activity_method(
            PostmortemActivities.store_postmortem, doc, **side_effect(30), priority=PAPERWORK,
            summary="store the postmortem (first draft)")
        self._state.record("postmortem.written", f"{stored.path} (by remediator)",
                           phase=Phase.POSTMORTEM)
        self._state.postmortem = stored.markdown
        return stored

    def _postmortem_input(self) -> PostmortemInput:
        state = self._state
        assert state.opened is not None and state.severity is not None
        return PostmortemInput(
            incident_id=state.id, title=state.opened.title, service=state.opened.service,
            severity=state.severity, status=state.status, opened_at=state.opened_at,
            closed_at=workflow.now(), alerts=state.all_alerts, steps=state.steps,
            verdict=state.verdict, timeline=state.timeline,
            commander=self._responders.roles.get(Role.INCIDENT_COMMANDER, ""),
            evidence=state.evidence)

    def _set(self, phase: Phase | None = None, status: IncidentStatus | None = None,
             severity: Severity | None = None) -> None:
        state = self._state
        if phase is not None and phase != state.phase:
            state.phase = phase
            self._responders.announce_phase()
        state.phase = phase or state.phase
        state.status = status or state.status
        state.severity = severity or state.severity
        self._search.update(phase=state.phase, status=state.status, severity=state.severity)

    def _show(self, markdown: str) -> None:
        """What the incident does or waits for now (the UI's "Current Details")."""
        self._showing = markdown
        workflow.set_current_details(markdown)

    async def _investigated(self) -> None:
        """Wait for the investigation, when this incident reads it (release-2026-12-i)."""
        if self._investigation is not None:
            await self._investigation.done()

    async def _evidence_for(self, opened: DetectResult, steps: list[MitigationStep],
                            dry_run: bool) -> None:
        """Wait for the investigation only where ``steps`` use what it finds (README
        "Evidence"); the other steps go first."""
        assert self._state.severity is not None
        if needs_evidence(steps, opened.policy.approvals, self._state.severity,
                          environment_of(opened), dry_run):
            await self._investigated()

    def _found(self, evidence: EvidenceSummary) -> None:
        """What the investigation found: on approval requests, in the postmortem."""
        self._state.evidence = evidence
        self._desk.evidence = evidence.text()

    def _raise_to(self, severity: Severity) -> None:
        """How the responders' clocks change the severity: as the incident itself does."""
        self._set(severity=severity)

    def _take_first_alerts(self, inp: IncidentInput) -> None:
        """The alerts it opened with: a human's declaration, or its group's first batch."""
        if inp.declared is not None:
            self._state.record("incident.declared", f"by {inp.declared.by}: {inp.declared.title}")
            self._take_alerts(AlertBatch(group_key=inp.incident_id, alerts=[
                declared_alert(inp.incident_id, inp.declared, workflow.now())]))
        elif inp.alerts:
            self._take_alerts(AlertBatch(group_key=inp.group_key or inp.incident_id,
                                         alerts=inp.alerts))

    def _take_alerts(self, batch: AlertBatch) -> None:
        for alert in batch.alerts:
            known = self._state.alerts.get(alert.fingerprint)
            self._state.alerts[alert.fingerprint] = alert.status
            self._state.all_alerts.append(alert)
            if known != alert.status:
                self._state.record(f"alert.{alert.status}",
                                   f"{alert.name} from {alert.source} {alert.labels}")

    def _from_a_phase(self, sender: str, _: object) -> bool:
        return sender.startswith(f"{self._state.id}/")

    def _from(self, phase: Phase) -> Callable[[str, object], bool]:
        return lambda sender, _: sender == f"{self._state.id}/{phase}"

    # --- signals from the alert intake -------------------------------------------------
    @workflow.signal(name=ALERTS)
    def alerts(self, batch: AlertBatch) -> None:
        """Alerts of this group (from its alert group, or the webhook server for incidents
        opened before numbering)."""
        self._take_alerts(batch)

    @workflow.signal(name=GUARD_RELEASED)
    def guard_released(self, note: GuardReleased) -> None:
        """From the guard: a target this incident waits for has freed (it asks again)."""
        self._rails.waiter.released(note)

    @workflow.signal(name=DUPLICATES)
    def duplicates(self, count: int) -> None:
        """Repeats that changed nothing, counted at the edge and passed on in batches."""
        self._state.duplicates += max(count, 0)

    # --- signals from the phases (sealed) ----------------------------------------------
    @workflow.signal(name=RECORD)
    def record(self, sealed: RawValue) -> None:
        """Timeline entries from the phase workflows (sealed), in batches as they happen."""
        entries = self._inbox.open(sealed, RECORD, list[TimelineEntry], self._from_a_phase)
        if entries is not None:
            self._state.timeline.extend(entries)

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
        workflow.set_current_details(ui.waiting_approval(pending, self._desk.policy))

    @workflow.signal(name=SEVERITY_RAISED)
    def severity_raised(self, sealed: RawValue) -> None:
        """From the mitigate phase (sealed): an approval deadline passed."""
        severity = self._inbox.open(sealed, SEVERITY_RAISED, Severity, self._from(Phase.MITIGATE))
        if severity is not None and self._raises(severity):
            # Paging as every other escalation does (the clocks', a failed verification's).
            self._severity_to(severity, page=patched(LATE_SEV1, since=LATE_SEV1_RELEASE))

    @workflow.signal
    def set_severity(self, raw: RawValue) -> None:
        """A human re-classifies the incident (a SeverityChange): the clocks, the paging
        and the search attributes follow at once; a raise pages whom the new level adds.
        Refused (and recorded) before triage has assigned one, and once it has closed."""
        change = self._inbox.read(raw, "set_severity", SeverityChange)
        if change is None:
            return
        before = self._state.severity
        if before is None:
            why: str | None = "triage has not assigned one yet"
        elif self._state.status == IncidentStatus.RESOLVED or self._state.phase == Phase.DONE:
            why = "the incident is resolved"
        else:
            why = f"it is {before} already" if change.severity == before else None
        if before is None or why is not None:
            self._inbox.refuse("set_severity", change.by, f"{change.severity}: {why}")
            return
        self._state.record("severity.changed",
                           f"{before} → {change.severity} by {change.by}: {change.reason}")
        self._severity_to(change.severity,
                          page=more_severe(change.severity, before) == change.severity)

    @workflow.signal(name=POSTMORTEM_DRAFTED)
    def postmortem_drafted(self, sealed: RawValue) -> None:
        """From the postmortem phase (sealed): the first draft is stored."""
        markdown = self._inbox.open(sealed, POSTMORTEM_DRAFTED, str, self._from(Phase.POSTMORTEM))
        if markdown is not None:
            self._state.postmortem = markdown

    @workflow.signal(name=POSTMORTEM_WRITTEN)
    def postmortem_written(self, sealed: RawValue) -> None:
        """From the postmortem phase (sealed): the first draft is stored, and with it come
        the entries the phase recorded (one signal, since release-2026-12-e)."""
        first = self._inbox.open(sealed, POSTMORTEM_WRITTEN, FirstDraft,
                                 self._from(Phase.POSTMORTEM))
        if first is not None:
            self._state.timeline.extend(first.timeline)
            self._state.postmortem = first.markdown

    # --- signals, updates and queries from people --------------------------------------
    @workflow.signal
    def resolve(self, raw: RawValue) -> None:
        """A human hands the incident back as resolved (a Resolution; takes effect once
        handed over)."""
        resolution = self._inbox.read(raw, "resolve", Resolution)
        if resolution is not None and self._state.resolution is None:
            self._state.resolution = resolution
            self._state.record("incident.resolve", f"by {resolution.by}: {resolution.reason}")

    @workflow.signal
    def assign_role(self, raw: RawValue) -> None:
        """Assign or reassign a role (Incident Commander, Technical Lead, Comms Lead, Scribe):
        a RoleAssignment; anything else is refused and recorded."""
        assignment = self._inbox.read(raw, "assign_role", RoleAssignment)
        if assignment is not None:
            self._responders.assign(assignment)

    @workflow.signal
    def acknowledge(self, raw: RawValue) -> None:
        """Acknowledge the page (an Acknowledgement): stops paging the on-call engineer."""
        ack = self._inbox.read(raw, "acknowledge", Acknowledgement)
        if ack is not None:
            self._responders.acknowledge(ack)

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
        if patched("signed-decisions"):
            request = ApprovalRequest.model_validate(
                {**decision.model_dump(), "approve": approve, "via": getattr(decision, "via", None)})
            answer = await self._desk.verified(request, path)
        else:  # recorded before decisions were signed
            answer = await self._desk.decide(decision, approve)
        if answer.decided and not self._desk.pending:
            self._set(status=IncidentStatus.MITIGATING)
            workflow.set_current_details(self._showing)
        return answer

    @workflow.query
    def pending_approvals(self) -> list[PendingApproval]:
        """Steps waiting for a decision, with their plan and plan hash."""
        return list(self._desk.pending.values())

    @workflow.query(name=ALERTS_FIRING)
    def alerts_firing(self) -> list[str]:
        """Fingerprints of the incident's alerts whose last status is firing."""
        return [fp for fp, status in self._state.alerts.items() if status == AlertStatus.FIRING]

    @workflow.query(name=ALERT_LABELS)
    def alert_labels(self) -> dict[str, str]:
        """The labels every alert of the incident shares (what silencing its group matches)."""
        return common_labels(self._state.all_alerts)

    @workflow.query
    def status(self) -> IncidentView:
        """Phase, severity, timeline and steps of the incident, as of now."""
        state, opened = self._state, self._state.opened
        return IncidentView(
            id=state.id, status=state.status, phase=state.phase, severity=state.severity,
            title=opened.title if opened else "", service=opened.service if opened else "",
            runbook=opened.runbook.name if opened and opened.runbook else None,
            alerts=len(state.alerts), timeline=state.timeline, steps=state.steps,
            verdict=state.verdict, postmortem=state.postmortem,
            roles={str(role): user for role, user in self._responders.roles.items()},
            acknowledged_by=self._responders.acknowledged_by, dry_run=state.dry_run,
            duplicates=state.duplicates,
            previous=self._recurrence.previous_id if self._recurrence else None,
            declared_by=self._declared.by if self._declared else None)
