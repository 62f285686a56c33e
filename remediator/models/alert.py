"""An alert, normalised from whichever source sent it, and a batch of one group's alerts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from remediator.models.contract import Contract


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(Contract):
    """One alert, normalised from whichever source sent it."""

    source: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=256)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    status: AlertStatus = AlertStatus.FIRING
    fingerprint: str = Field(min_length=1, max_length=128)
    starts_at: datetime | None = None
    received_at: datetime


class AlertBatch(Contract):
    """Alerts of one group delivered together (the payload of the ``alerts`` signal)."""

    group_key: str
    alerts: list[Alert] = Field(min_length=1)
