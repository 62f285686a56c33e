"""The incident's lifecycle nouns: its phase, its status, and one line of its timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from remediator.models.contract import Contract


class Phase(StrEnum):
    DETECT = "detect"
    TRIAGE = "triage"
    MITIGATE = "mitigate"
    VERIFY = "verify"
    POSTMORTEM = "postmortem"
    DONE = "done"


class IncidentStatus(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    AWAITING_APPROVAL = "awaiting_approval"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    FAILED = "failed"


class TimelineEntry(Contract):
    """One line of the incident record, in UTC."""

    at: datetime
    kind: str
    detail: str
    phase: Phase | None = None
