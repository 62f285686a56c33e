"""What every alert source shares: size limits, the strict body model, fingerprints,
JSON decoding, and building the normalised batch.

Validation is strict: anything that is not exactly the documented shape is
rejected with a message naming the field, before any workflow is touched.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pydantic_core
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from remediator.models.alert import Alert, AlertBatch

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


def bounded(d: dict[str, str]) -> dict[str, str]:
    if len(d) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} entries")
    for key, value in d.items():
        if not key or len(key) > 256 or len(value) > MAX_VALUE:
            raise ValueError(f"entry {key[:40]!r} is empty or too long")
    return d


# What ``bounded`` and Alertmanager's ``_has_name`` check, said in the JSON schema
# (the OpenAPI document).
BOUNDED_SCHEMA: dict[str, JsonValue] = {
    "maxProperties": MAX_LABELS, "propertyNames": {"minLength": 1, "maxLength": 256}}
LABELS_SCHEMA: dict[str, JsonValue] = {
    **BOUNDED_SCHEMA, "required": ["alertname"],
    "properties": {"alertname": {"type": "string", "minLength": 1, "maxLength": MAX_NAME}}}


class StrictBody(BaseModel):
    # strict: JSON types as documented (a datetime is a string, not a unix number), so
    # the OpenAPI schema derived from these models says exactly what is accepted.
    model_config = ConfigDict(extra="ignore", str_max_length=MAX_VALUE, strict=True)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def label_fingerprint(labels: dict[str, str], *leading: str) -> str:
    """An alert's fingerprint when its sender gave none: ``leading`` parts and the
    labels (in any order) hashed, 16 hex digits."""
    return _digest(*leading, *sorted(f"{k}={v}" for k, v in labels.items()))[:16]


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
