"""Contracts of verification: metric readings, baselines, the window and the hand-back."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from workflows.models import Check, Contract


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


class WindowChange(Contract):
    """A human stretches the verify window or ends it now (the verdict is judged then)."""

    by: str = Field(min_length=1, max_length=200)
    extend_seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    end_now: bool = False
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        if (self.extend_seconds is None) == (not self.end_now):
            raise ValueError("give either extend_seconds or end_now, not both or neither")
        return self


class WindowState(Contract):
    """The verify window as it stands: when it opened, when it ends, what was seen."""

    started_at: datetime
    ends_at: datetime
    rounds: int
    healthy_rounds: int
    closed: bool


class Resolution(Contract):
    """A human declares a handed-over incident resolved (payload of the ``resolve`` signal)."""

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
