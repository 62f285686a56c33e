"""The incident's people and messages: roles, acknowledgement, announcements, clocks.

A mixin of ``IncidentWorkflow`` so the incident's ``run`` stays the runbook's outline;
everything here reacts to the incident's state and never blocks remediation.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from remediator.models.comms import Acknowledgement, Audience, CommsPolicy, Role, RoleAssignment
    from remediator.models.incident import IncidentStatus, Phase, TimelineEntry
    from remediator.models.mitigation import StepOutcome
    from remediator.models.verification import Verdict
    from remediator.severity import TABLE, Severity
    from workflows.comms import clocks as escalation
    from workflows.comms import templates as comms
    from workflows.comms.announcer import Announcer
    from workflows.comms.clocks import ClockProgress
    from workflows.detect import DetectResult, runbook_link
    from workflows.support.seals import Inbox
    from workflows.triage_rules import SECURITY_CIRCLE


class IncidentComms:
    """State and handlers for who is involved and what they are told."""

    _id: str
    _phase: Phase
    _status: IncidentStatus
    _severity: Severity | None
    _steps: list[StepOutcome]
    _verdict: Verdict | None
    _timeline: list[TimelineEntry]
    _opened_at: datetime
    _title: str
    _service: str
    _opened: DetectResult | None
    _inbox: Inbox

    def _init_comms(self) -> None:
        self._roles: dict[Role, str] = {}
        self._acked_by: str | None = None
        self._closed = False
        # True while this run stops its clocks to continue as new (they resume there).
        self._handing_on = False
        self._clocks: list[asyncio.Task[None]] = []
        self._progress = ClockProgress()
        self._announcer = Announcer(self._id, self._record)

    def _record(self, kind: str, detail: str, phase: Phase | None = None) -> None:
        self._timeline.append(TimelineEntry(at=workflow.now(), kind=kind, detail=detail,
                                            phase=phase or self._phase))

    def _set(self, phase: Phase | None = None, status: IncidentStatus | None = None,
             severity: Severity | None = None) -> None:
        raise NotImplementedError

    # --- what the clocks watch (escalation.Watched) -------------------------------------
    @property
    def severity(self) -> Severity:
        return self._severity or Severity.P2

    @property
    def closed(self) -> bool:
        """The clocks stop: the incident closed, or this run is handing on to the next."""
        return self._closed or self._handing_on

    @property
    def acknowledged(self) -> bool:
        return self._acked_by is not None

    @property
    def opened_at(self) -> datetime:
        return self._opened_at

    def escalate(self, to: Severity, why: str) -> None:
        before = self.severity
        self._set(severity=to)
        self._record("severity.escalated", f"{before} → {to}: {why}")
        self._page_next_circle(before, to)

    def _page_next_circle(self, before: Severity, to: Severity) -> None:
        """Seed 04's "who to notify": page whoever the new severity adds."""
        circle = [who for who in TABLE[to].notify if who not in TABLE[before].notify]
        self.page(", ".join(circle) or "responders", f"escalated to {to} ({TABLE[to].sev})")

    def _page_security_circle(self, team: list[str]) -> None:
        """Seed 03: "involve security/legal for data or auth issues", from the start."""
        circle = [who for who in SECURITY_CIRCLE if who in team]
        if circle:
            self.page(", ".join(circle), "security or data-breach alert")

    def page(self, who: str, why: str) -> None:
        self._announcer.announce("page", f"[{self.severity}] page {who}: {self._title}",
                                 f"Paging {who}: {why}.\n{self._title}", self.severity)

    def post_update(self, customers: bool, kind: str = "status_update") -> None:
        """A status update (seed 04's template): on the cadence, or ``phase_update`` when the
        incident moves to another phase."""
        snap = self._snapshot()
        if customers:
            text = comms.customer_update(snap, self._announcer.policy.customer_cadence_seconds)
            self._announcer.announce("customer_update", f"{self._service} status update", text,
                                     self.severity, Audience.CUSTOMER)
            return
        every = self._announcer.policy.cadence_seconds[self.severity]
        self._announcer.announce(kind, f"INCIDENT UPDATE: {self.severity} - {self._title}",
                                 comms.status_update(snap, every), self.severity)

    # --- lifecycle -------------------------------------------------------------------
    def _start_comms(self, policy: CommsPolicy) -> None:
        """Declare the incident (initial alert, IC) and start the clocks."""
        self._announcer.policy = policy
        self._roles.setdefault(Role.INCIDENT_COMMANDER, policy.oncall)
        self._record("role.assigned", f"{Role.INCIDENT_COMMANDER}: {policy.oncall} (on call)")
        snap = self._snapshot()
        self._record("channel.opened", comms.channel(snap))
        self._announcer.announce("initial", f"INCIDENT DECLARED: {self.severity} - {self._title}",
                                 comms.initial_alert(snap, policy.cadence_seconds[self.severity]),
                                 self.severity)
        if self.severity in (Severity.P0, Severity.P1):
            self._announcer.announce("customer_update", f"{self._service} status update",
                                     comms.customer_update(snap, policy.customer_cadence_seconds),
                                     self.severity, Audience.CUSTOMER)
        self._run_clocks(policy)

    def _run_clocks(self, policy: CommsPolicy) -> None:
        """Start the clocks, each from where ``self._progress`` says it stands."""
        self._announcer.policy = policy
        progress = self._progress
        self._clocks = [asyncio.create_task(clock) for clock in (
            escalation.severity_ladder(self, policy, progress),
            escalation.page_again(self, policy, progress),
            escalation.escalation_matrix(self, policy, progress),
            escalation.update_cadence(self, policy, False, progress),
            escalation.update_cadence(self, policy, True, progress))]

    async def _stop_clocks(self) -> None:
        """Stop the clocks where they stand (their progress is kept) and let every send in
        flight finish: this run is about to continue as new."""
        self._handing_on = True
        await asyncio.gather(*self._clocks)
        await self._announcer.drain()

    def _announce_phase(self) -> None:
        if self._clocks and not self._closed:
            self.post_update(customers=False, kind="phase_update")

    def _close_comms(self, review_at: datetime | None) -> None:
        """Stop the clocks and send the resolution notice, the all-clear (internal and, for
        P0/P1, customers)."""
        self._closed = True
        snap = self._snapshot(review_at)
        if self._verdict is not None and self._verdict.passed:
            window = self._verdict
            snap.resolution = (f"{'; '.join(snap.actions) or 'no mitigation'}; verification "
                               f"passed ({window.detail})")
        self._announcer.announce("resolution", f"INCIDENT RESOLVED: {self.severity} - {self._title}",
                                 comms.resolution(snap), self.severity)
        if self.severity in (Severity.P0, Severity.P1):
            self._announcer.announce("customer_update", f"{self._service} status update",
                                     comms.customer_update(snap, 0), self.severity, Audience.CUSTOMER)

    async def _finish_comms(self) -> None:
        self._closed = True
        if self._clocks:
            await asyncio.gather(*self._clocks)
        await self._announcer.drain()

    def _snapshot(self, review_at: datetime | None = None) -> comms.Snapshot:
        actions = [f"{s.step_id} {s.state}" for s in self._steps]
        return comms.Snapshot(
            title=self._title, service=self._service, severity=self.severity, phase=self._phase,
            status=self._status, started_at=self._opened_at, now=workflow.now(),
            commander=self._roles.get(Role.INCIDENT_COMMANDER, "unassigned"), actions=actions,
            current_state=f"phase {self._phase}, status {self._status}", review_at=review_at,
            runbook_link=runbook_link(self._opened) if self._opened else None)

    def review_due(self) -> datetime:
        seconds = self._announcer.policy.review_due_seconds[self.severity]
        return workflow.now() + timedelta(seconds=seconds)

    # --- signals from people ---------------------------------------------------------
    @workflow.signal
    def assign_role(self, raw: RawValue) -> None:
        """Assign or reassign a role (Incident Commander, Technical Lead, Comms Lead, Scribe):
        a RoleAssignment; anything else is refused and recorded."""
        assignment = self._inbox.read(raw, "assign_role", RoleAssignment)
        if assignment is None:
            return
        previous = self._roles.get(assignment.role)
        self._roles[assignment.role] = assignment.user
        was = f" (was {previous})" if previous else ""
        self._record("role.assigned", f"{assignment.role}: {assignment.user}{was}"
                     + (f" by {assignment.by}" if assignment.by else ""))

    @workflow.signal
    def acknowledge(self, raw: RawValue) -> None:
        """Acknowledge the page (an Acknowledgement): stops paging the on-call engineer."""
        ack = self._inbox.read(raw, "acknowledge", Acknowledgement)
        if ack is not None and self._acked_by is None:
            self._acked_by = ack.user
            self._record("incident.acknowledged", f"by {ack.user}")
