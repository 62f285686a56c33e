"""The seed communication templates (seed 04), rendered from the incident's state.

Pure functions: workflows call them and hand the text to the notify activity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from remediator.models.incident import IncidentStatus, Phase
from remediator.models.incident_number import channel_name
from remediator.severity import TABLE, Severity


@dataclass
class Snapshot:
    """What a message says about the incident, as of ``now``."""

    title: str
    service: str
    severity: Severity
    phase: Phase
    status: IncidentStatus
    started_at: datetime
    now: datetime
    commander: str
    actions: list[str] = field(default_factory=list)
    current_state: str = ""
    next_steps: str = ""
    resolution: str = ""
    root_cause: str = "under investigation"
    review_at: datetime | None = None
    runbook_link: str | None = None
    incident_id: str = ""


def status_word(phase: Phase, status: IncidentStatus) -> str:
    """Seed 04's status vocabulary: Investigating / Identified / Mitigating / Monitoring / Resolved."""
    if status == IncidentStatus.RESOLVED or phase == Phase.DONE:
        return "Resolved"
    if status == IncidentStatus.AWAITING_APPROVAL:
        return "Identified"
    return {Phase.MITIGATE: "Mitigating", Phase.VERIFY: "Monitoring"}.get(phase, "Investigating")


def channel(s: Snapshot) -> str:
    """Seed 02's ``#incident-YYYY-MM-DD-NNNN`` (the Slack incident channel's name);
    seed 04's ``#incident-<date>-<topic>`` for an incident without a number."""
    named = channel_name(s.incident_id, s.started_at.date())
    return f"#{named}" if named else f"#incident-{s.started_at:%Y-%m-%d}-{s.service}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds < 7200 else f"{seconds / 3600:g} hours"


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"


def initial_alert(s: Snapshot, next_update_seconds: float) -> str:
    return "\n".join([
        f"INCIDENT DECLARED: {s.severity} - {s.title}",
        "",
        f"Impact: {TABLE[s.severity].name} on {s.service}",
        f"Start time: {s.started_at:%Y-%m-%d %H:%M} UTC",
        f"Current status: {status_word(s.phase, s.status)}",
        f"Incident Commander: {s.commander}",
        f"Channel: {channel(s)}",
        *([f"Runbook: {s.runbook_link}"] if s.runbook_link else []),
        "",
        f"Next update in {_minutes(next_update_seconds)}.",
    ])


def status_update(s: Snapshot, next_update_seconds: float) -> str:
    return "\n".join([
        f"INCIDENT UPDATE: {s.severity} - {s.title}",
        "",
        f"Status: {status_word(s.phase, s.status)}",
        f"Duration: {_duration(s.now - s.started_at)}",
        f"Current state: {s.current_state or s.phase}",
        f"Actions taken: {'; '.join(s.actions) or 'none yet'}",
        f"Next steps: {s.next_steps or 'continue per runbook'}",
        "",
        f"Next update in {_minutes(next_update_seconds)}.",
    ])


def resolution(s: Snapshot) -> str:
    review = f"{s.review_at:%Y-%m-%d %H:%M} UTC" if s.review_at else "to be scheduled"
    return "\n".join([
        f"INCIDENT RESOLVED: {s.severity} - {s.title}",
        "",
        f"Duration: {_duration(s.now - s.started_at)}",
        f"Root cause: {s.root_cause}",
        f"Resolution: {s.resolution or '; '.join(s.actions) or 'resolved without mitigation'}",
        f"Customer impact: {TABLE[s.severity].name} on {s.service}",
        f"Follow-up: Post-incident review scheduled for {review}.",
        "",
        "Monitoring for recurrence.",
    ])


def customer_update(s: Snapshot, cadence_seconds: float) -> str:
    state = "resolved" if status_word(s.phase, s.status) == "Resolved" else "being worked on"
    return "\n".join([
        f"{s.service} Status Update",
        "",
        f"We are aware of an issue affecting {s.service}.",
        "Our team is actively working to resolve this." if state != "resolved"
        else "The issue has been resolved and all services are operating normally.",
        "",
        f"Started: {s.started_at:%Y-%m-%d %H:%M} UTC",
        f"Current status: the issue is {state}.",
        "",
        f"We will provide updates every {_minutes(cadence_seconds)}." if state != "resolved"
        else "We apologize for the inconvenience.",
    ])
