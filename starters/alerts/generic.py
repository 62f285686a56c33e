"""The generic JSON alert (``POST /v1/alerts/generic``) → a normalised batch of one
alert, grouped by source and fingerprint."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from remediator.models.alert import AlertBatch, AlertStatus
from starters.alerts.common import (
    BOUNDED_SCHEMA,
    MAX_NAME,
    BadAlert,
    StrictBody,
    batch_of,
    bounded,
    explain,
    label_fingerprint,
    validated,
)


class GenericAlert(StrictBody):
    source: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    labels: dict[str, str] = Field(default_factory=dict, json_schema_extra=BOUNDED_SCHEMA)
    annotations: dict[str, str] = Field(default_factory=dict, json_schema_extra=BOUNDED_SCHEMA)
    status: Literal["firing", "resolved"] = "firing"
    fingerprint: str | None = Field(default=None, min_length=1, max_length=128)

    _bounds = field_validator("labels", "annotations")(bounded)


def parse_generic(body: bytes, received_at: datetime) -> AlertBatch:
    try:
        g = validated(GenericAlert, body)
    except ValidationError as exc:
        raise BadAlert(f"not a generic alert: {explain(exc)}") from None
    fingerprint = g.fingerprint or label_fingerprint(g.labels, g.name)
    alert: dict[str, object] = dict(
        source=g.source, name=g.name, labels=g.labels, annotations=g.annotations,
        status=AlertStatus(g.status), fingerprint=fingerprint, received_at=received_at,
    )
    return batch_of(f"{g.source}:{fingerprint}", [alert])
