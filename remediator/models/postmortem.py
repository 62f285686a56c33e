"""The postmortem document (seed 04's PIR) and its action items, as stored and rendered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from remediator.models.alert import Alert
from remediator.models.contract import Contract
from remediator.models.evidence import EvidenceSummary
from remediator.models.incident import IncidentStatus, TimelineEntry
from remediator.models.mitigation import StepOutcome
from remediator.models.verification import Verdict
from remediator.severity import Severity


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


class PostmortemInput(Contract):
    incident_id: str
    title: str
    service: str
    severity: Severity
    status: IncidentStatus
    opened_at: datetime
    closed_at: datetime
    alerts: list[Alert]
    steps: list[StepOutcome]
    verdict: Verdict | None
    timeline: list[TimelineEntry]
    root_cause: str = ""
    five_whys: list[str] = Field(default_factory=list)
    impact: str = ""
    went_well: list[str] = Field(default_factory=list)
    went_poorly: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    commander: str = ""
    review_at: datetime | None = None
    reviewed_by: str | None = None
    # What triage found (README "Evidence"); None: recorded before evidence bundles.
    evidence: EvidenceSummary | None = None
    # Seed 04/05's "Lessons Learned", written by the reviewers (``PostmortemEdit``).
    lessons_learned: list[str] = Field(default_factory=list)


class PostmortemResult(Contract):
    path: str
    markdown: str
