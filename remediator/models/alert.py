"""An alert, normalised from whichever source sent it, and a batch of one group's alerts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from remediator.models.contract import Contract

# Read-only queries of the incident workflow about its alerts (activities ask them by name).
ALERTS_FIRING = "alerts_firing"
ALERT_LABELS = "alert_labels"
MAX_GENERATOR_URL = 4096


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
    # The source's link to what fired (Prometheus: ``/graph?g0.expr=<the rule>``).
    generator_url: str | None = Field(None, max_length=MAX_GENERATOR_URL)


class AlertBatch(Contract):
    """Alerts of one group delivered together (the payload of the ``alerts`` signal)."""

    group_key: str
    alerts: list[Alert] = Field(min_length=1)


def common_labels(alerts: Iterable[Alert]) -> dict[str, str]:
    """The labels every one of ``alerts`` has with the same value (Alertmanager's
    ``commonLabels``): what matches the whole group and nothing the group does not share."""
    common: dict[str, str] | None = None
    for alert in alerts:
        if common is None:
            common = dict(alert.labels)
        else:
            common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common or {}
