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

from collections.abc import Callable

from temporalio import workflow

from workflows.support.versions import RELEASES, named, patched

with workflow.unsafe.imports_passed_through():
    from remediator.models.alert import AlertStatus
    from remediator.severity import Severity
    from workflows.comms.responders import Responders
    from workflows.incident_models import MAX_CARRIED_ALERTS, IncidentCarry, IncidentInput
    from workflows.incident_state import IncidentState
    from workflows.support import search

# Recorded before the first continue-as-new-capable wait; incidents already waiting
# when this shipped keep waiting in one run (their histories have no marker).
CONTINUES_AS_NEW = "hand-over-continues-as-new"


class IncidentRuns:
    """The hand-over wait, in as many runs as it takes."""

    def __init__(self, incident: IncidentState, responders: Responders,
                 inp: IncidentInput) -> None:
        self._incident = incident
        self._responders = responders
        self._input = inp

    def resolved(self) -> bool:
        """Every alert of the group resolved, or a human declared the incident resolved."""
        alerts = self._incident.alerts
        all_resolved = bool(alerts) and all(s == AlertStatus.RESOLVED for s in alerts.values())
        return all_resolved or self._incident.resolution is not None

    async def until_resolved(self) -> None:
        """Wait until every alert resolved or a human resolved it; continue as new whenever
        this run's history is full (never returns in that case)."""
        if not patched(CONTINUES_AS_NEW):
            await workflow.wait_condition(self.resolved)
            return
        await workflow.wait_condition(lambda: self.resolved() or self._history_full())
        if self.resolved():
            return
        await self._responders.stop_clocks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.resolved():  # resolved meanwhile: the incident closes in this run
            return
        workflow.logger.info("incident.continued_as_new", extra={
            "incident_id": self._incident.id, "run": self._incident.runs,
            "events": workflow.info().get_current_history_length()})
        workflow.continue_as_new(self._input.model_copy(update={
            "alerts": [], "carried": self._carry(), "release": RELEASES[0]}), memo=named())

    def _history_full(self) -> bool:
        """Time to hand on: past the threshold (or the server suggests it, at some 4,000
        events by default) at a moment with no send in flight. A sink down long enough for
        the run to reach twice the threshold no longer holds it back: the run then waits
        for those sends (one delivery budget at most) with its clocks stopped."""
        assert self._incident.opened is not None
        info = workflow.info()
        events = info.get_current_history_length()
        limit = self._incident.opened.policy.history_events_per_run
        full = events >= limit or info.is_continue_as_new_suggested()
        return (full and self._responders.idle) or events >= 2 * limit

    def _carry(self) -> IncidentCarry:
        inc, who = self._incident, self._responders
        assert inc.opened is not None and inc.severity is not None
        return IncidentCarry(
            opened=inc.opened, opened_at=inc.opened_at, phase=inc.phase,
            status=inc.status, severity=inc.severity, timeline=inc.timeline,
            alert_statuses=inc.alerts, alerts=inc.all_alerts[:MAX_CARRIED_ALERTS],
            steps=inc.steps, verdict=inc.verdict, roles=who.roles,
            acknowledged_by=who.acknowledged_by, duplicates=inc.duplicates, dry_run=inc.dry_run,
            resolution=inc.resolution, messages_sent=who.sent, clocks=who.progress,
            runs=inc.runs, evidence=inc.evidence)


def restored(incident_id: str, carry: IncidentCarry) -> IncidentState:
    """The state an earlier run handed on: this run goes on from it."""
    opened = carry.opened
    return IncidentState(
        id=incident_id, opened_at=carry.opened_at, runs=carry.runs + 1, opened=opened,
        title=opened.title, service=opened.service, phase=carry.phase, status=carry.status,
        severity=carry.severity, timeline=carry.timeline, steps=carry.steps,
        verdict=carry.verdict, alerts=dict(carry.alert_statuses), all_alerts=list(carry.alerts),
        duplicates=carry.duplicates, dry_run=carry.dry_run, resolution=carry.resolution,
        evidence=carry.evidence)


def restored_responders(incident: IncidentState, carry: IncidentCarry,
                        raise_to: Callable[[Severity], None]) -> Responders:
    """The responders as the earlier run left them: roles, acknowledgement, message
    numbers and where each clock stood."""
    responders = Responders(incident, raise_to, roles=carry.roles,
                            acknowledged_by=carry.acknowledged_by, progress=carry.clocks,
                            sent=carry.messages_sent)
    responders.policy = carry.opened.policy.comms
    return responders


def restored_search(carry: IncidentCarry) -> search.SearchAttributes:
    # Continue-as-new keeps the search attributes: nothing to upsert until one changes.
    return search.SearchAttributes(phase=carry.phase, status=carry.status,
                                   severity=carry.severity, service=carry.opened.service)
