"""What verification reads and concludes: metric readings, baselines, check results, the verdict."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from remediator.models.contract import Contract
from remediator.models.runbook import Check


class MetricReading(Contract):
    """One number read from a metric source; ``value`` None means no data (never a pass)."""

    value: float | None
    detail: str
    at: datetime


class BaselineWindow(Contract):
    """Read ``check``'s mean over a past range (the hour before the incident, say)."""

    check: Check
    start: datetime
    end: datetime


class Baseline(Contract):
    """A verification query's normal level before the incident, and its value when
    mitigation began; ``value`` None when the source had no data for the range."""

    check: Check
    value: float | None
    current: float | None
    start: datetime
    end: datetime
    detail: str


class CheckResult(Contract):
    check: Check
    healthy: bool
    observed: str
    at: datetime


class Verdict(Contract):
    passed: bool
    detail: str
    checks: list[CheckResult] = Field(default_factory=list)
    window_started_at: datetime | None = None
    window_ended_at: datetime | None = None
