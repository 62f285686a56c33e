"""The seed runbooks' severity tables: the one home of their numbers.

Seed 04 names P0–P3, seed 02 names SEV-1–SEV-4 for the same four levels (P0 = SEV-1 …
P3 = SEV-4). Response times, update cadences, escalation rules, how long a mitigation
is watched and when the review is due are seed 04's; who to notify is seed 04's
"Assemble the Response Team" table; the escalation matrix is seed 02's. Everything
else derives from here: the settings' defaults, the approval deadlines, the comms
policy's clocks. Pure data and pure functions: workflows use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Incident priority; P0 is the most severe."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


MINUTE = 60.0
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True)
class SeverityLevel:
    """One level of seed 04's table; every time in seconds."""

    severity: Severity
    sev: str  # seed 02's name of the same level
    name: str
    # Response Time: a risky step's approval is due within it.
    response_seconds: float
    update_cadence_seconds: float
    notify: tuple[str, ...]
    # Escalation Rules: unresolved this long, the incident goes one level up (None: never).
    escalate_after_seconds: float | None
    # "Monitor for at least 15 minutes (P0/P1) or 30 minutes (P2) before declaring resolved."
    monitor_seconds: float
    # The post-incident review is due this long after resolution.
    review_within_seconds: float


TABLE: dict[Severity, SeverityLevel] = {
    Severity.P0: SeverityLevel(
        Severity.P0, "SEV-1", "Total Outage", 15 * MINUTE, 15 * MINUTE,
        ("on-call engineer", "engineering manager", "VP Engineering",
         "customer support lead", "communications"),
        escalate_after_seconds=None, monitor_seconds=15 * MINUTE, review_within_seconds=48 * HOUR,
    ),
    Severity.P1: SeverityLevel(
        Severity.P1, "SEV-2", "Major Degradation", 30 * MINUTE, 30 * MINUTE,
        ("on-call engineer", "engineering manager", "customer support lead"),
        escalate_after_seconds=2 * HOUR, monitor_seconds=15 * MINUTE, review_within_seconds=48 * HOUR,
    ),
    Severity.P2: SeverityLevel(
        Severity.P2, "SEV-3", "Partial Impact", 2 * HOUR, 2 * HOUR,
        ("on-call engineer", "relevant team lead"),
        escalate_after_seconds=4 * HOUR, monitor_seconds=30 * MINUTE, review_within_seconds=7 * DAY,
    ),
    # The seeds set no monitoring window or review deadline for P3: P2's apply.
    Severity.P3: SeverityLevel(
        Severity.P3, "SEV-4", "Minor Issue", DAY, DAY, ("assigned engineer",),
        escalate_after_seconds=None, monitor_seconds=30 * MINUTE, review_within_seconds=7 * DAY,
    ),
}

# Seed 02's escalation matrix: (offset from the incident's start, who, SEV-1 only).
ESCALATION_MATRIX: tuple[tuple[float, str, bool], ...] = (
    (15 * MINUTE, "Engineering lead", False),
    (30 * MINUTE, "VP Engineering", True),
    (HOUR, "CTO", True),
    (2 * HOUR, "CEO", True),
)

_ORDER = list(TABLE)  # most severe first


def more_severe(a: Severity, b: Severity) -> Severity:
    return a if _ORDER.index(a) <= _ORDER.index(b) else b


def raise_one(severity: Severity) -> Severity:
    """One level up (P2 → P1); P0 stays P0."""
    return _ORDER[max(0, _ORDER.index(severity) - 1)]


def approval_deadlines() -> dict[Severity, float]:
    """Seconds within which a risky step's decision is due, by severity."""
    return {s: level.response_seconds for s, level in TABLE.items()}


def update_cadences() -> dict[Severity, float]:
    """Seconds between status updates, by severity."""
    return {s: level.update_cadence_seconds for s, level in TABLE.items()}


def escalation_deadlines() -> dict[Severity, float]:
    """Seconds after which an unresolved incident goes one level up, for the levels that do."""
    return {s: level.escalate_after_seconds for s, level in TABLE.items()
            if level.escalate_after_seconds is not None}


def review_deadlines() -> dict[Severity, float]:
    """Seconds after resolution within which the post-incident review is due, by severity."""
    return {s: level.review_within_seconds for s, level in TABLE.items()}


def escalation_matrix() -> list[tuple[float, str, bool]]:
    return list(ESCALATION_MATRIX)
