"""Bounded histories: a handed-over incident continues as new, carrying its state.

An incident left to humans may wait days — paging until acknowledged, status updates
on their cadence, the escalation matrix — and every one of those is history events.
So while it waits, the incident hands on to a fresh run (continue-as-new) once its
run's history passes ``IncidentPolicy.history_events_per_run`` (or the server suggests
it): the clocks stop where they stand, sends in flight finish, handlers finish, and the
next run starts from an ``IncidentCarry`` straight back in the wait, clocks resumed.
Same workflow id, so signals, queries and the postmortem see one incident.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.alert import Alert, AlertStatus
    from workflows.approvals.desk import ApprovalDesk
    from workflows.comms.announcer import Announcer
    from workflows.comms.responders import IncidentComms
    from workflows.incident_models import MAX_CARRIED_ALERTS, IncidentCarry, IncidentInput, Resolution
    from workflows.support import search

# Recorded before the first continue-as-new-capable wait; incidents already waiting
# when this shipped keep waiting in one run (their histories have no marker).
CONTINUES_AS_NEW = "hand-over-continues-as-new"


class IncidentRuns(IncidentComms):
    """The hand-over wait, in as many runs as it takes."""

    _input: IncidentInput
    _alerts: dict[str, AlertStatus]
    _all_alerts: list[Alert]
    _duplicates: int
    _dry_run: bool
    _resolution: Resolution | None
    _desk: ApprovalDesk
    _search: search.SearchAttributes
    _runs: int

    def _resolved(self) -> bool:
        alerts = self._alerts
        all_resolved = bool(alerts) and all(s == AlertStatus.RESOLVED for s in alerts.values())
        return all_resolved or self._resolution is not None

    async def _until_resolved(self) -> None:
        """Wait until every alert resolved or a human resolved it; continue as new whenever
        this run's history is full (never returns in that case)."""
        if not workflow.patched(CONTINUES_AS_NEW):
            await workflow.wait_condition(self._resolved)
            return
        await workflow.wait_condition(lambda: self._resolved() or self._history_full())
        if self._resolved():
            return
        await self._stop_clocks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._resolved():  # resolved meanwhile: the incident closes in this run
            return
        workflow.logger.info("incident.continued_as_new", extra={
            "incident_id": self._id, "run": self._runs,
            "events": workflow.info().get_current_history_length()})
        workflow.continue_as_new(self._input.model_copy(update={
            "alerts": [], "carried": self._carry()}))

    def _history_full(self) -> bool:
        """Time to hand on: past the threshold (or the server suggests it, at some 4,000
        events by default) at a moment with no send in flight. A sink down long enough for
        the run to reach twice the threshold no longer holds it back: the run then waits
        for those sends (one delivery budget at most) with its clocks stopped."""
        assert self._opened is not None
        info = workflow.info()
        events, limit = info.get_current_history_length(), self._opened.policy.history_events_per_run
        full = events >= limit or info.is_continue_as_new_suggested()
        return (full and self._announcer.idle) or events >= 2 * limit

    def _carry(self) -> IncidentCarry:
        assert self._opened is not None and self._severity is not None
        return IncidentCarry(
            opened=self._opened, opened_at=self._opened_at, phase=self._phase,
            status=self._status, severity=self._severity, timeline=self._timeline,
            alert_statuses=self._alerts, alerts=self._all_alerts[:MAX_CARRIED_ALERTS],
            steps=self._steps, verdict=self._verdict, roles=self._roles,
            acknowledged_by=self._acked_by, duplicates=self._duplicates, dry_run=self._dry_run,
            resolution=self._resolution, messages_sent=self._announcer.sent,
            clocks=self._progress, runs=self._runs)

    def _restore(self, carry: IncidentCarry) -> None:
        """This run continues an earlier one: take its state (``__init__`` only)."""
        opened = carry.opened
        self._opened, self._opened_at, self._runs = opened, carry.opened_at, carry.runs + 1
        self._title, self._service = opened.title, opened.service
        self._phase, self._status, self._severity = carry.phase, carry.status, carry.severity
        self._timeline, self._steps, self._verdict = carry.timeline, carry.steps, carry.verdict
        self._alerts, self._all_alerts = dict(carry.alert_statuses), list(carry.alerts)
        self._roles, self._acked_by = dict(carry.roles), carry.acknowledged_by
        self._duplicates, self._dry_run = carry.duplicates, carry.dry_run
        self._resolution, self._progress = carry.resolution, carry.clocks
        self._announcer = Announcer(self._id, self._record, sent=carry.messages_sent)
        self._announcer.policy = opened.policy.comms
        self._desk.policy = opened.policy.approvals
        # Continue-as-new keeps the search attributes: nothing to upsert until one changes.
        self._search = search.SearchAttributes(
            phase=carry.phase, status=carry.status, severity=carry.severity,
            service=opened.service)

