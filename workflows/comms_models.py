"""Contracts of communications, roles and the postmortem review."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from remediator.severity import (
    escalation_deadlines,
    escalation_matrix,
    review_deadlines,
    update_cadences,
)
from workflows.models import Contract, Severity

ALL_SEVERITIES = [Severity.P0, Severity.P1, Severity.P2, Severity.P3]


class Audience(StrEnum):
    INTERNAL = "internal"
    CUSTOMER = "customer"


class SinkRef(Contract):
    """A notification sink as workflows see it: a name, never its URL or credentials."""

    name: str
    kind: Literal["slack", "email", "sns"]
    severities: list[Severity] = Field(default_factory=lambda: list(ALL_SEVERITIES))
    audience: Audience = Audience.INTERNAL


class Message(Contract):
    """One message for one sink; ``message_id`` makes a retried send a no-op."""

    sink: str
    message_id: str
    incident_id: str
    kind: str
    subject: str
    text: str


class Role(StrEnum):
    INCIDENT_COMMANDER = "incident_commander"
    TECHNICAL_LEAD = "technical_lead"
    COMMUNICATIONS_LEAD = "communications_lead"
    SCRIBE = "scribe"


class RoleAssignment(Contract):
    role: Role
    user: str = Field(min_length=1, max_length=200)
    by: str = Field(default="", max_length=200)


class Acknowledgement(Contract):
    user: str = Field(min_length=1, max_length=200)


class CommsPolicy(Contract):
    """Cadences and escalation timings (seconds), sinks, and the on-call engineer.

    ``delivery_budget_seconds`` bounds each message's delivery to one sink, retries
    included: past it the send is recorded as failed and the incident goes on."""

    sinks: list[SinkRef] = Field(default_factory=list)
    oncall: str = "on-call engineer"
    delivery_budget_seconds: float = Field(600.0, gt=0)
    cadence_seconds: dict[Severity, float] = Field(default_factory=update_cadences)
    customer_cadence_seconds: float = 3600.0
    escalate_after_seconds: dict[Severity, float] = Field(default_factory=escalation_deadlines)
    page_again_seconds: float = 900.0
    # Seed 02's escalation matrix, as offsets from the incident's start.
    matrix: list[tuple[float, str, bool]] = Field(default_factory=escalation_matrix)
    review_due_seconds: dict[Severity, float] = Field(default_factory=review_deadlines)
    action_item_due_seconds: float = 7 * 86400.0

    def sinks_for(self, severity: Severity, audience: Audience) -> list[SinkRef]:
        return [s for s in self.sinks if severity in s.severities and s.audience == audience]


def _midnight(value: object) -> object:
    # YAML reads ``due: 2026-12-05`` as a date: it means that day, 00:00 UTC.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _aware(value: datetime) -> datetime:
    # A time without a zone is UTC, as everywhere in remediator: workflows compare due
    # dates with workflow.now(), and a naive one would fail every workflow task.
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None


# Every due date inside a workflow is an aware UTC datetime, whatever a human typed.
UtcDateTime = Annotated[datetime, BeforeValidator(_midnight), AfterValidator(_aware)]


class ActionItem(Contract):
    id: str
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=200)
    priority: Literal["High", "Medium", "Low"] = "Medium"
    due: UtcDateTime
    status: Literal["TODO", "DONE"] = "TODO"


class NewActionItem(Contract):
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=200)
    priority: Literal["High", "Medium", "Low"] = "Medium"
    due: UtcDateTime | None = None


class PostmortemEdit(Contract):
    """Human input to the review: any field left out stays as it is."""

    by: str = Field(min_length=1, max_length=200)
    root_cause: str | None = Field(default=None, max_length=20_000)
    five_whys: list[str] | None = Field(default=None, max_length=10)
    went_well: list[str] | None = None
    went_poorly: list[str] | None = None
    impact: str | None = Field(default=None, max_length=20_000)
    action_items: list[NewActionItem] = Field(default_factory=list)
    close_action_items: list[str] = Field(default_factory=list)
    review_done: bool = False


class Deadline(Contract):
    """When a clock acts next, and at which severity it started counting."""

    at: datetime
    level: Severity | None = None


class ClockProgress(Contract):
    """Where the incident's clocks stand: kept as they go, so that an incident that
    continues as new resumes them where they were instead of from zero.

    ``due`` holds each running clock's next deadline by clock name; ``matrix_done``
    counts the escalation matrix's entries already dealt with (paged or skipped)."""

    due: dict[str, Deadline] = Field(default_factory=dict)
    matrix_done: int = 0

    def remaining(self, clock: str, now: datetime, seconds: float,
                  level: Severity | None = None) -> float:
        """Seconds until ``clock`` is due; a clock with no deadline (or one counted at
        another severity) starts counting ``seconds`` from ``now``."""
        due = self.due.get(clock)
        if due is None or due.level != level:
            due = self.due[clock] = Deadline(at=now + timedelta(seconds=seconds), level=level)
        return (due.at - now).total_seconds()

    def passed(self, clock: str) -> None:
        """``clock`` acted: its next wait counts from then."""
        self.due.pop(clock, None)
