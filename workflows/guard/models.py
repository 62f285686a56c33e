"""The guard's own models: its durable state (carried across continue-as-new), the
operator's requests (maintenance windows, the pause switch) and the ``status`` view.

The incident-side requests and answers are in ``remediator/models/guard.py`` (activities
reach the guard with them and import nothing from workflows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from remediator.models.contract import Contract
from remediator.models.guard import Block, GuardPolicy, Holder

Text = Field(min_length=1, max_length=256)
Recurrence = Literal["daily", "weekly"]


class Lock(Contract):
    target: str
    holder: Holder
    since: datetime
    runbook: str = ""


class Applied(Contract):
    """The last application of an action on a target (a cooldown runs from ``at``)."""

    action: str
    target: str
    at: datetime
    incident_id: str
    cooldown_seconds: float


class Mark(Contract):
    """One failed verification or one recurrence; ``key`` (the update id) counts a retried
    update once even after continue-as-new."""

    at: datetime
    incident_id: str = ""
    key: str = ""
    group_id: str = ""


class Track(Contract):
    """Consecutive failures and recurrences of one runbook on one target."""

    runbook: str
    target: str
    failures: list[Mark] = Field(default_factory=list)
    recurrences: list[Mark] = Field(default_factory=list)


class Pass(Contract):
    """The last passing verification of an alert group's incident."""

    group_id: str
    runbook: str
    targets: list[str] = Field(default_factory=list)
    at: datetime
    incident_id: str = ""


class Slot(Contract):
    """A mutating step in flight (the fleet caps count these)."""

    holder: Holder
    action: str
    target: str
    scope: str = ""
    since: datetime


class PauseState(Contract):
    by: str
    reason: str
    since: datetime


class MaintenanceRequest(Contract):
    """A maintenance window: incidents whose labels match every matcher run in shadow
    mode while it is open. One-off: ``starts_at`` (default now) to ``ends_at`` (or
    ``duration_seconds``). Recurring (``every`` daily or weekly): the first occurrence is
    ``starts_at``…``ends_at``, repeated every day/week until ``until`` (default: forever)."""

    matchers: list[str] = Field(min_length=1, max_length=20)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration_seconds: float | None = Field(None, gt=0)
    every: Recurrence | None = None
    until: AwareDatetime | None = None
    reason: str = Text
    created_by: str = Text


class MaintenanceWindow(Contract):
    id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    every: Recurrence | None = None
    until: datetime | None = None
    reason: str
    created_by: str
    created_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None


class MaintenanceEnd(Contract):
    id: str = Text
    by: str = Text


class PauseRequest(Contract):
    by: str = Text
    reason: str = Field(min_length=1, max_length=2000)


class ResumeRequest(Contract):
    by: str = Text


class PauseAnswer(Contract):
    paused: PauseState | None
    changed: bool
    detail: str


class GuardState(Contract):
    """Everything the guard knows; a fresh run starts from it."""

    policy: GuardPolicy = Field(default_factory=GuardPolicy)
    locks: dict[str, Lock] = Field(default_factory=dict)  # by target
    # Workflow ids to signal when a target (key) or a fleet slot (key "") frees.
    waiters: dict[str, list[str]] = Field(default_factory=dict)
    # The scope each fleet-slot waiter asked in, so a freed slot wakes only waiters that
    # can take it (by workflow id; none for waiters recorded before scopes were kept).
    slot_scopes: dict[str, str] = Field(default_factory=dict)
    applied: dict[str, Applied] = Field(default_factory=dict)  # by "action target"
    tracks: dict[str, Track] = Field(default_factory=dict)  # by "runbook target"
    blocks: dict[str, Block] = Field(default_factory=dict)  # by "runbook target"
    passes: dict[str, Pass] = Field(default_factory=dict)  # by group id
    fleet_failures: list[Mark] = Field(default_factory=list)
    slots: list[Slot] = Field(default_factory=list)
    windows: list[MaintenanceWindow] = Field(default_factory=list)
    paused: PauseState | None = None
    next_window: int = 1


class Cooldown(Contract):
    action: str
    target: str
    applied_at: datetime
    incident_id: str
    until: datetime


class WindowView(MaintenanceWindow):
    active: bool


class GuardStatus(Contract):
    """``remediator guard status``: every rail as it stands now."""

    now: datetime
    policy: GuardPolicy
    paused: PauseState | None
    locks: list[Lock]
    waiters: dict[str, list[str]]
    cooldowns: list[Cooldown]
    blocks: list[Block]
    windows: list[WindowView]
    slots: list[Slot]
    in_flight: int
    in_flight_by_scope: dict[str, int]
    fleet_failures_in_window: int
