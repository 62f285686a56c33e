"""What makes an incident one occurrence: the alert a human declared it with, and the
note that links it to the group's previous occurrence."""

from __future__ import annotations

from datetime import datetime

from remediator.models.alert import Alert
from workflows.alert_group_models import Recurrence
from workflows.incident_models import Declaration

DECLARED_SOURCE = "declared"


def declared_alert(incident_id: str, d: Declaration, at: datetime) -> Alert:
    """The declaration as an alert, so detect, triage and comms run as for any incident.
    It never resolves by itself: a human resolves the incident (or verification does)."""
    return Alert(source=DECLARED_SOURCE, name=d.title,
                 labels={**d.labels, "alertname": d.title, "service": d.service,
                         "severity": d.severity.value},
                 annotations={"summary": d.title, "declared_by": d.by},
                 fingerprint=incident_id, received_at=at)


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86_400:.0f} days"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def recurrence_note(r: Recurrence, now: datetime) -> str:
    """"recurrence of INC-2026-0041, resolved 2 h ago; 3rd occurrence in 24 h"."""
    ago = _ago(max((now - r.previous_resolved_at).total_seconds(), 0))
    return (f"recurrence of {r.previous_id}, resolved {ago} ago; "
            f"{_ordinal(r.occurrences_24h)} occurrence in 24 h")
