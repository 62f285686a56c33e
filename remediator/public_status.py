"""What customers are told about an incident: seed 04/05's customer-facing updates.

A projection of the incident's timeline onto the four public states (seed 02:
Investigating / Identified / Monitoring / Resolved), each with the seed's customer
wording. It reads only *when* things happened and the affected service: no title,
runbook, host, label, plan, approver or person ever reaches the public text — the
status page and the Statuspage sink both publish exactly this.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from remediator.models.contract import Contract
from remediator.models.incident import TimelineEntry
from remediator.severity import Severity


class PublicState(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Impact(StrEnum):
    """A component's state, worst last (Statuspage's component statuses)."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL = "partial_outage"
    MAJOR = "major_outage"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def rank(self) -> int:
        return list(Impact).index(self)


IMPACT = {Severity.P0: Impact.MAJOR, Severity.P1: Impact.PARTIAL,
          Severity.P2: Impact.DEGRADED, Severity.P3: Impact.DEGRADED}

# Timeline kinds that move the public state (the first of each counts).
IDENTIFIED_KINDS = ("mitigation.started", "approval.requested")
MONITORING_KINDS = ("verify.window_started",)
RESOLVED_KINDS = ("incident.resolved",)
REOPENED_KINDS = ("incident.handed_over", "mitigation.fallback")


class PublicUpdate(Contract):
    at: datetime
    status: PublicState
    body: str


class PublicIncident(Contract):
    """One incident as customers see it."""

    id: str
    title: str
    component: str
    impact: Impact
    status: PublicState
    started_at: datetime
    resolved_at: datetime | None = None
    updates: list[PublicUpdate]


def wording(state: PublicState, service: str, at: datetime, again: bool = False) -> str:
    """Seed 05's customer templates (initial, progress, resolution) for ``service``."""
    if state == PublicState.INVESTIGATING:
        return (f"We are continuing to investigate the issue affecting {service}." if again else
                f"We are currently investigating reports of an issue affecting {service}. "
                "Our team is actively working on a resolution.")
    if state == PublicState.IDENTIFIED:
        return (f"We have identified the cause of the issue affecting {service} "
                "and are implementing a fix.")
    if state == PublicState.MONITORING:
        return f"A fix has been implemented for {service} and we are monitoring the results."
    return (f"The issue affecting {service} has been resolved at {at:%H:%M} UTC. All services "
            "are now operating normally. We apologize for the inconvenience caused.")


def title_of(service: str, severity: Severity) -> str:
    return f"{IMPACT[severity].label} of {service}"


def _state_of(kind: str) -> PublicState | None:
    if kind.startswith(RESOLVED_KINDS):
        return PublicState.RESOLVED
    if kind.startswith(MONITORING_KINDS):
        return PublicState.MONITORING
    if kind.startswith(IDENTIFIED_KINDS):
        return PublicState.IDENTIFIED
    if kind.startswith(REOPENED_KINDS):
        return PublicState.INVESTIGATING
    return None


def public_updates(service: str, started_at: datetime, timeline: list[TimelineEntry],
                   resolved: bool = False, closed_at: datetime | None = None) -> list[PublicUpdate]:
    """The customer updates, oldest first: a new one each time the public state changes."""
    updates = [PublicUpdate(at=started_at, status=PublicState.INVESTIGATING,
                            body=wording(PublicState.INVESTIGATING, service, started_at))]
    for entry in sorted(timeline, key=lambda e: e.at):
        state = _state_of(entry.kind)
        if state is None or state == updates[-1].status:
            continue
        if updates[-1].status == PublicState.RESOLVED:
            break
        updates.append(PublicUpdate(at=entry.at, status=state, body=wording(
            state, service, entry.at, again=state == PublicState.INVESTIGATING)))
    if resolved and updates[-1].status != PublicState.RESOLVED:
        at = closed_at or updates[-1].at
        updates.append(PublicUpdate(at=at, status=PublicState.RESOLVED,
                                    body=wording(PublicState.RESOLVED, service, at)))
    return updates


def public_incident(incident_id: str, service: str, severity: Severity, started_at: datetime,
                    timeline: list[TimelineEntry], resolved: bool = False,
                    closed_at: datetime | None = None) -> PublicIncident:
    updates = public_updates(service, started_at, timeline, resolved, closed_at)
    last = updates[-1]
    return PublicIncident(
        id=incident_id, title=title_of(service, severity), component=service,
        impact=IMPACT[severity], status=last.status, started_at=started_at,
        resolved_at=last.at if last.status == PublicState.RESOLVED else None, updates=updates)
