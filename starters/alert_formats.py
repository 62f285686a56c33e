"""Inbound alert formats (Alertmanager webhook v4, generic JSON) → normalised batches.

Validation is strict: anything that is not exactly the documented shape is
rejected with a message naming the field, before any workflow is touched.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from workflows.models import Alert, AlertBatch, AlertStatus

MAX_LABELS = 64
MAX_VALUE = 4096
MAX_NAME = 256  # Alert.name's bound: an alert name longer than this is refused
# A start time outside this window around arrival is taken as "not said": a start in
# year 1 or 9999 would overflow the baseline's arithmetic inside the incident workflow.
STARTED_AT_MOST_BEFORE = timedelta(days=366)
STARTED_AT_MOST_AFTER = timedelta(minutes=5)


M = TypeVar("M", bound=BaseModel)


class BadAlert(ValueError):
    """The payload is not an acceptable alert; the message says what is wrong."""


def _bounded(d: dict[str, str]) -> dict[str, str]:
    if len(d) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} entries")
    for key, value in d.items():
        if not key or len(key) > 256 or len(value) > MAX_VALUE:
            raise ValueError(f"entry {key[:40]!r} is empty or too long")
    return d


# What ``_bounded`` and ``_has_name`` check, said in the JSON schema (the OpenAPI document).
BOUNDED_SCHEMA: dict[str, JsonValue] = {
    "maxProperties": MAX_LABELS, "propertyNames": {"minLength": 1, "maxLength": 256}}
LABELS_SCHEMA: dict[str, JsonValue] = {
    **BOUNDED_SCHEMA, "required": ["alertname"],
    "properties": {"alertname": {"type": "string", "minLength": 1, "maxLength": MAX_NAME}}}


class _Strict(BaseModel):
    # strict: JSON types as documented (a datetime is a string, not a unix number), so
    # the OpenAPI schema derived from these models says exactly what is accepted.
    model_config = ConfigDict(extra="ignore", str_max_length=MAX_VALUE, strict=True)


class AmAlert(_Strict):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(json_schema_extra=LABELS_SCHEMA)
    annotations: dict[str, str] = Field(default_factory=dict, json_schema_extra=BOUNDED_SCHEMA)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(default="", max_length=128)

    _bounds = field_validator("labels", "annotations")(_bounded)

    @field_validator("labels")
    @classmethod
    def _has_name(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("every alert needs an 'alertname' label")
        if len(labels["alertname"]) > MAX_NAME:
            raise ValueError(f"'alertname' is longer than {MAX_NAME} characters")
        return labels


class AlertmanagerWebhook(_Strict):
    """Alertmanager webhook body, version 4."""

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=1024)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    alerts: list[AmAlert] = Field(min_length=1)


class GenericAlert(_Strict):
    source: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    labels: dict[str, str] = Field(default_factory=dict, json_schema_extra=BOUNDED_SCHEMA)
    annotations: dict[str, str] = Field(default_factory=dict, json_schema_extra=BOUNDED_SCHEMA)
    status: Literal["firing", "resolved"] = "firing"
    fingerprint: str | None = Field(default=None, min_length=1, max_length=128)

    _bounds = field_validator("labels", "annotations")(_bounded)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def incident_id_for(source: str, group_key: str) -> str:
    """Stable incident id (= workflow id) for an alert group."""
    return "inc-" + _digest(source, group_key)[:20]


def parse_json(body: bytes) -> object:
    """The decoded body. pydantic's parser (not ``json``) because it refuses, as a
    ValueError, what ``json`` turns into other exceptions or into unsendable values:
    nesting past 200 levels (RecursionError), integers past 4,300 digits, lone UTF-16
    surrogates (which no Temporal payload can carry)."""
    try:
        return pydantic_core.from_json(body)
    except ValueError as exc:
        raise BadAlert(f"body is not valid JSON: {exc}") from None


def validated(model: type[M], body: bytes) -> M:
    """``body`` as ``model`` (strict, from JSON), BadAlert when it is not JSON at all;
    a ValidationError for the caller to name its payload in."""
    parse_json(body)
    return model.model_validate_json(body)


def plausible_start(started: datetime | None, received_at: datetime) -> datetime | None:
    """``started`` as an aware UTC time, or None (= "when it arrived") when it is
    implausibly far from the arrival time."""
    if started is None:
        return None
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    earliest, latest = received_at - STARTED_AT_MOST_BEFORE, received_at + STARTED_AT_MOST_AFTER
    return started if earliest <= started <= latest else None


def batch_of(group_key: str, alerts: list[dict[str, object]]) -> AlertBatch:
    """The batch, or BadAlert: what passed a webhook model but still cannot be an
    ``Alert`` is refused here rather than escaping as a server error."""
    try:
        return AlertBatch(group_key=group_key, alerts=[Alert.model_validate(a) for a in alerts])
    except ValidationError as exc:
        raise BadAlert(f"not an acceptable alert: {explain(exc)}") from None


def explain(exc: ValidationError) -> str:
    first = exc.errors()[:5]
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in first)


class GrafanaWebhook(AlertmanagerWebhook):
    """Grafana unified alerting's webhook: Alertmanager's shape, ``version: "1"``."""

    version: Literal["1"]  # type: ignore[assignment]


def parse_grafana(body: bytes, received_at: datetime, max_alerts: int) -> AlertBatch:
    return parse_alertmanager(body, received_at, max_alerts, GrafanaWebhook, "grafana")


def parse_alertmanager(body: bytes, received_at: datetime, max_alerts: int,
                       shape: type[AlertmanagerWebhook] = AlertmanagerWebhook,
                       source: str = "alertmanager") -> AlertBatch:
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
            fingerprint=a.fingerprint or _digest(*sorted(f"{k}={v}" for k, v in a.labels.items()))[:16],
            starts_at=plausible_start(a.startsAt, received_at), received_at=received_at,
        )
        for a in hook.alerts
    ]
    return batch_of(hook.groupKey, alerts)


def parse_generic(body: bytes, received_at: datetime) -> AlertBatch:
    try:
        g = validated(GenericAlert, body)
    except ValidationError as exc:
        raise BadAlert(f"not a generic alert: {explain(exc)}") from None
    fingerprint = g.fingerprint or _digest(g.name, *sorted(f"{k}={v}" for k, v in g.labels.items()))[:16]
    alert: dict[str, object] = dict(
        source=g.source, name=g.name, labels=g.labels, annotations=g.annotations,
        status=AlertStatus(g.status), fingerprint=fingerprint, received_at=received_at,
    )
    return batch_of(f"{g.source}:{fingerprint}", [alert])


def guess_format(body: bytes) -> str:
    """Which webhook a payload is for, from its shape."""
    try:
        payload = parse_json(body)
    except BadAlert:
        return "generic"
    if not isinstance(payload, dict):
        return "generic"
    if "groupKey" in payload:
        return "grafana" if payload.get("version") == "1" else "alertmanager"
    return "pagerduty" if "event" in payload else "generic"
