"""Contracts of the alert group (``AlertGroupWorkflow``) and what it tells an incident."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from remediator.models.alert import AlertBatch, AlertStatus
from remediator.models.contract import Contract

DAY_SECONDS = 86_400.0


def flush_interval(base_seconds: float, flushes: int) -> float:
    """How long after its ``flushes``-th batch an incident gets the next one: the
    interval grows with the storm's length (2 s, then 4 s after a minute, …) so that a
    storm lasting as long as a week-long approval wait stays far below Temporal's
    10,000 signals per execution (about 4,300 batches a week at a 2 s base)."""
    return base_seconds * (1 + flushes / 30)


class Recurrence(Contract):
    """The group fired again after an earlier occurrence had closed."""

    previous_id: str
    previous_resolved_at: datetime
    occurrences_24h: int = Field(ge=2)


class OpenIncident(Contract):
    id: str
    opened_at: datetime
    # fingerprint → the status last forwarded: what makes the next alert a duplicate.
    alerts: dict[str, AlertStatus] = Field(default_factory=dict)


class Occurrence(Contract):
    id: str
    opened_at: datetime
    resolved_at: datetime


class GroupState(Contract):
    """Everything an alert group remembers; carried across continue-as-new."""

    open: list[OpenIncident] = Field(default_factory=list)
    closed: list[Occurrence] = Field(default_factory=list)
    duplicates: dict[str, int] = Field(default_factory=dict)
    # Batches of duplicates passed to each open incident so far (see flush_interval).
    flushes: dict[str, int] = Field(default_factory=dict)


class GroupInput(Contract):
    route: str
    # Correlation: a new alert joins an open incident only if it opened this recently
    # (None: any open incident of the group, today's grouping).
    window_seconds: float | None = Field(default=None, gt=0)
    # How long a group with nothing open remembers its occurrences (recurrence links).
    memory_seconds: float = Field(default=7 * DAY_SECONDS, ge=0)
    # Duplicates are passed on to the incident in batches, at most this often.
    flush_seconds: float = Field(default=2.0, gt=0)
    # History stays far below Temporal's limits: a fresh run after this many ingests.
    rollover_after: int = Field(default=1_000, ge=1)
    state: GroupState = Field(default_factory=GroupState)


class IngestRequest(Contract):
    batch: AlertBatch
    dry_run: bool = False


class IngestAnswer(Contract):
    incident_id: str | None
    created: bool
    note: str | None = None


class IncidentClosed(Contract):
    id: str
    resolved_at: datetime
