"""Grafana unified alerting's webhook → a normalised alert batch. Its body is
Alertmanager's shape with ``version: "1"``, so Alertmanager's parser reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from remediator.models.alert import AlertBatch
from starters.alerts.alertmanager import AlertmanagerWebhook, parse_alertmanager


class GrafanaWebhook(AlertmanagerWebhook):
    """Grafana unified alerting's webhook: Alertmanager's shape, ``version: "1"``."""

    version: Literal["1"]  # type: ignore[assignment]


def parse_grafana(body: bytes, received_at: datetime, max_alerts: int) -> AlertBatch:
    return parse_alertmanager(body, received_at, max_alerts, GrafanaWebhook, "grafana")
