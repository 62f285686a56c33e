"""Alertmanager's webhook (version 4) → a normalised alert batch: one batch per alert
group (``groupKey``), one alert per entry in ``alerts``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from remediator.models.alert import MAX_GENERATOR_URL, AlertBatch, AlertStatus
from starters.alerts.common import (
    BOUNDED_SCHEMA,
    LABELS_SCHEMA,
    MAX_NAME,
    BadAlert,
    StrictBody,
    batch_of,
    bounded,
    explain,
    label_fingerprint,
    plausible_start,
    validated,
)


class AmAlert(StrictBody):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(json_schema_extra=LABELS_SCHEMA)
    annotations: dict[str, str] = Field(default_factory=dict, json_schema_extra=BOUNDED_SCHEMA)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(default="", max_length=128)

    _bounds = field_validator("labels", "annotations")(bounded)

    @field_validator("labels")
    @classmethod
    def _has_name(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("every alert needs an 'alertname' label")
        if len(labels["alertname"]) > MAX_NAME:
            raise ValueError(f"'alertname' is longer than {MAX_NAME} characters")
        return labels


class AlertmanagerWebhook(StrictBody):
    """Alertmanager webhook body, version 4."""

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=1024)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    alerts: list[AmAlert] = Field(min_length=1)


def parse_alertmanager(body: bytes, received_at: datetime, max_alerts: int,
                       shape: type[AlertmanagerWebhook] = AlertmanagerWebhook,
                       source: str = "alertmanager") -> AlertBatch:
    """The batch of one webhook call, or BadAlert naming what is wrong. ``shape`` and
    ``source`` let a sender of the same body (Grafana) reuse this parser."""
    try:
        hook = validated(shape, body)
    except ValidationError as exc:
        what = "an Alertmanager v4" if source == "alertmanager" else f"a {source}"
        raise BadAlert(f"not {what} webhook: {explain(exc)}") from None
    if len(hook.alerts) > max_alerts:
        raise BadAlert(f"too many alerts in one request ({len(hook.alerts)} > {max_alerts})")
    alerts: list[dict[str, object]] = [
        dict(
            source=source, name=a.labels["alertname"], labels=a.labels,
            annotations=a.annotations, status=AlertStatus(a.status),
            fingerprint=a.fingerprint or label_fingerprint(a.labels),
            starts_at=plausible_start(a.startsAt, received_at), received_at=received_at,
            # An over-long link is dropped, not the alert: it only helps the evidence.
            generator_url=a.generatorURL if 0 < len(a.generatorURL) <= MAX_GENERATOR_URL else None,
        )
        for a in hook.alerts
    ]
    return batch_of(hook.groupKey, alerts)
