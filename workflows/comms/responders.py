"""The incident's responders: roles, acknowledgement, announcements, and the clocks.

Composed by ``IncidentWorkflow`` (which declares the handlers and delegates here), so
the incident's ``run`` stays the runbook's outline; everything here reacts to the
incident's state and never blocks remediation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.comms import Acknowledgement, Audience, CommsPolicy, Role, RoleAssignment
    from remediator.severity import TABLE, Severity
    from workflows.comms import clocks, templates
    from workflows.comms.alarm import Alarm
    from workflows.comms.announcer import Announcer
    from workflows.comms.clocks import ClockProgress
    from workflows.detect import runbook_link
    from workflows.incident_state import IncidentState
    from workflows.support import waits
    from workflows.support.versions import patched
    from workflows.triage_rules import SECURITY_CIRCLE

# Since this release the clocks share one timer (``Alarm``) instead of one each.
ONE_ALARM = "clocks-share-one-timer"
ONE_ALARM_RELEASE = "release-2026-12-g"


class Responders:
    """Who is involved and what they are told; the clocks watch it (``clocks.Watched``).

    ``raise_to`` is the incident's own way of changing its severity (search attributes
    and all): the responders escalate through it, never behind the incident's back."""

    def __init__(self, incident: IncidentState, raise_to: Callable[[Severity], None],
                 roles: dict[Role, str] | None = None, acknowledged_by: str | None = None,
                 progress: ClockProgress | None = None, sent: int = 0) -> None:
        self._incident = incident
        self._raise_to = raise_to
        self.roles: dict[Role, str] = dict(roles or {})
        self.acknowledged_by = acknowledged_by
        self._closed = False
        # True while this run stops its clocks to continue as new (they resume there).
        self._handing_on = False
        self._clocks: list[asyncio.Task[None]] = []
        self._alarm = Alarm()
        self._one_alarm: bool | None = None  # decided at the first wait (a patch)
        self.progress = progress or ClockProgress()
        self._announcer = Announcer(incident.id, incident.record, sent=sent)

    # --- what the clocks watch (clocks.Watched) ---------------------------------------
    @property
    def severity(self) -> Severity:
        return self._incident.level

    @property
    def closed(self) -> bool:
        """The clocks stop: the incident closed, or this run is handing on to the next."""
        return self._closed or self._handing_on

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    @property
    def opened_at(self) -> datetime:
        return self._incident.opened_at

    def escalate(self, to: Severity, why: str) -> None:
        before = self.severity
        self._raise_to(to)
        self._incident.record("severity.escalated", f"{before} → {to}: {why}")
        self.page_next_circle(before, to)

    def page_next_circle(self, before: Severity, to: Severity) -> None:
        """Seed 04's "who to notify": page whoever the new severity adds."""
        circle = [who for who in TABLE[to].notify if who not in TABLE[before].notify]
        self.page(", ".join(circle) or "responders", f"escalated to {to} ({TABLE[to].sev})")

    def page_security_circle(self, team: list[str]) -> None:
        """Seed 03: "involve security/legal for data or auth issues", from the start."""
        circle = [who for who in SECURITY_CIRCLE if who in team]
        if circle:
            self.page(", ".join(circle), "security or data-breach alert")

    def page(self, who: str, why: str) -> None:
        title = self._incident.title
        self._announcer.announce("page", f"[{self.severity}] page {who}: {title}",
                                 f"Paging {who}: {why}.\n{title}", self.severity)

    def post_update(self, customers: bool, kind: str = "status_update") -> None:
        """A status update (seed 04's template): on the cadence, or ``phase_update`` when the
        incident moves to another phase."""
        snap = self._snapshot()
        if customers:
            text = templates.customer_update(snap, self._announcer.policy.customer_cadence_seconds)
            self._announcer.announce("customer_update", f"{self._incident.service} status update",
                                     text, self.severity, Audience.CUSTOMER)
            return
        every = self._announcer.policy.cadence_seconds[self.severity]
        self._announcer.announce(kind, f"INCIDENT UPDATE: {self.severity} - {self._incident.title}",
                                 templates.status_update(snap, every), self.severity)

    # --- lifecycle -------------------------------------------------------------------
    @property
    def policy(self) -> CommsPolicy:
        return self._announcer.policy

    @policy.setter
    def policy(self, policy: CommsPolicy) -> None:
        self._announcer.policy = policy

    async def wait(self, condition: Callable[[], bool], seconds: float,
                   summary: Callable[[float], str]) -> bool:
        """A clock's wait: on the clocks' one timer, or (recorded before) a timer each;
        ``summary`` says what it waits for, given the seconds left."""
        if self._one_alarm is None:
            self._one_alarm = patched(ONE_ALARM, since=ONE_ALARM_RELEASE)
        if self._one_alarm:
            return await self._alarm.until(condition, seconds, summary)
        return await waits.until(condition, seconds, summary(seconds))

    @property
    def sent(self) -> int:
        """Messages announced so far (carried across continue-as-new)."""
        return self._announcer.sent

    @property
    def idle(self) -> bool:
        """No send in flight."""
        return self._announcer.idle

    def start(self, policy: CommsPolicy) -> None:
        """Declare the incident (initial alert, IC) and start the clocks."""
        self._announcer.policy = policy
        self.roles.setdefault(Role.INCIDENT_COMMANDER, policy.oncall)
        self._incident.record("role.assigned", f"{Role.INCIDENT_COMMANDER}: {policy.oncall} (on call)")
        snap = self._snapshot()
        self._incident.record("channel.opened", templates.channel(snap))
        title, service = self._incident.title, self._incident.service
        self._announcer.announce("initial", f"INCIDENT DECLARED: {self.severity} - {title}",
                                 templates.initial_alert(snap, policy.cadence_seconds[self.severity]),
                                 self.severity)
        if self.severity in (Severity.P0, Severity.P1):
            self._announcer.announce("customer_update", f"{service} status update",
                                     templates.customer_update(snap, policy.customer_cadence_seconds),
                                     self.severity, Audience.CUSTOMER)
        self.run_clocks(policy)

    def run_clocks(self, policy: CommsPolicy) -> None:
        """Start the clocks, each from where ``self.progress`` says it stands."""
        self._announcer.policy = policy
        progress = self.progress
        self._clocks = [asyncio.create_task(clock) for clock in (
            clocks.severity_ladder(self, policy, progress),
            clocks.page_again(self, policy, progress),
            clocks.escalation_matrix(self, policy, progress),
            clocks.update_cadence(self, policy, False, progress),
            clocks.update_cadence(self, policy, True, progress))]

    async def stop_clocks(self) -> None:
        """Stop the clocks where they stand (their progress is kept) and let every send in
        flight finish: this run is about to continue as new."""
        self._handing_on = True
        await asyncio.gather(*self._clocks)
        await self._announcer.drain()

    def announce_phase(self) -> None:
        if self._clocks and not self._closed:
            self.post_update(customers=False, kind="phase_update")

    def close(self, review_at: datetime | None) -> None:
        """Stop the clocks and send the resolution notice, the all-clear (internal and, for
        P0/P1, customers)."""
        self._closed = True
        snap = self._snapshot(review_at)
        verdict = self._incident.verdict
        if verdict is not None and verdict.passed:
            snap.resolution = (f"{'; '.join(snap.actions) or 'no mitigation'}; verification "
                               f"passed ({verdict.detail})")
        title, service = self._incident.title, self._incident.service
        self._announcer.announce("resolution", f"INCIDENT RESOLVED: {self.severity} - {title}",
                                 templates.resolution(snap), self.severity)
        if self.severity in (Severity.P0, Severity.P1):
            self._announcer.announce("customer_update", f"{service} status update",
                                     templates.customer_update(snap, 0), self.severity,
                                     Audience.CUSTOMER)

    async def finish(self) -> None:
        self._closed = True
        if self._clocks:
            await asyncio.gather(*self._clocks)
        await self._announcer.drain()

    def _snapshot(self, review_at: datetime | None = None) -> templates.Snapshot:
        inc = self._incident
        actions = [f"{s.step_id} {s.state}" for s in inc.steps]
        return templates.Snapshot(
            title=inc.title, service=inc.service, severity=self.severity, phase=inc.phase,
            status=inc.status, started_at=inc.opened_at, now=workflow.now(),
            commander=self.roles.get(Role.INCIDENT_COMMANDER, "unassigned"), actions=actions,
            current_state=f"phase {inc.phase}, status {inc.status}", review_at=review_at,
            next_steps=self._roles_missing(),
            runbook_link=runbook_link(inc.opened) if inc.opened else None, incident_id=inc.id)

    def _roles_missing(self) -> str:
        """Seed 04, step 4: a P0 or P1 has every role explicitly assigned. Until it has,
        each update's next steps say which are missing (empty: none, or P2/P3)."""
        if self.severity not in (Severity.P0, Severity.P1):
            return ""
        missing = [str(role) for role in Role if role not in self.roles]
        if not missing:
            return ""
        return (f"assign {', '.join(missing)} (`remediator assign {self._incident.id} "
                "--role … --user …`), then continue per runbook")

    def review_due(self) -> datetime:
        seconds = self._announcer.policy.review_due_seconds[self.severity]
        return workflow.now() + timedelta(seconds=seconds)

    # --- what people tell the incident (its signal handlers delegate here) -------------
    def assign(self, assignment: RoleAssignment) -> None:
        """Assign or reassign a role; the timeline says who had it before."""
        previous = self.roles.get(assignment.role)
        self.roles[assignment.role] = assignment.user
        was = f" (was {previous})" if previous else ""
        self._incident.record("role.assigned", f"{assignment.role}: {assignment.user}{was}"
                              + (f" by {assignment.by}" if assignment.by else ""))

    def acknowledge(self, ack: Acknowledgement) -> None:
        """The first acknowledgement stops paging the on-call engineer."""
        if self.acknowledged_by is None:
            self.acknowledged_by = ack.user
            self._incident.record("incident.acknowledged", f"by {ack.user}")
