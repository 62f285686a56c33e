"""PagerDuty V3 webhooks → normalised alert batches, and their signature check.

A PagerDuty incident becomes one remediator incident (group key: the PagerDuty
incident id). ``incident.triggered`` and ``incident.reopened`` fire it,
``incident.resolved`` resolves it; other event types (acknowledged, annotated,
``pagey.ping`` …) are acknowledged and ignored, so PagerDuty does not retry them.

PagerDuty's priorities (P1 highest … P5) are shifted onto the seed table, P1 → P0
(SEV-1): PagerDuty's top priority is a page for an outage, and "when in doubt,
over-classify". Without a priority, urgency ``high`` is P1 and ``low`` is P3.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starters.alert_formats import MAX_NAME, BadAlert, batch_of, explain, plausible_start, validated
from workflows.models import AlertBatch, AlertStatus

EVENT_STATUS = {"incident.triggered": AlertStatus.FIRING, "incident.reopened": AlertStatus.FIRING,
                 "incident.resolved": AlertStatus.RESOLVED}
_PRIORITY = {"P1": "P0", "P2": "P1", "P3": "P2", "P4": "P3", "P5": "P3"}
_URGENCY = {"high": "P1", "low": "P3"}


class _Loose(BaseModel):
    # strict: JSON types as documented, as in starters.alert_formats.
    model_config = ConfigDict(extra="ignore", str_max_length=4096, strict=True)


class Reference(_Loose):
    id: str = Field(default="", max_length=64)
    summary: str = Field(default="", max_length=1024)
    html_url: str = ""


class IncidentData(_Loose):
    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=1024)
    number: int | None = None
    html_url: str = ""
    incident_key: str | None = Field(default=None, max_length=255)
    urgency: str = "high"
    created_at: datetime | None = None
    service: Reference | None = None
    priority: Reference | None = None


class Event(_Loose):
    id: str = Field(min_length=1, max_length=128)
    event_type: str = Field(min_length=1, max_length=128)
    resource_type: str = ""
    occurred_at: datetime
    data: dict[str, object] = Field(default_factory=dict)


class Webhook(_Loose):
    event: Event


def signature(body: bytes, secret: str) -> str:
    """The ``X-PagerDuty-Signature`` value PagerDuty sends for ``body``."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(body: bytes, header: str, secrets: list[str]) -> bool:
    """Whether ``X-PagerDuty-Signature`` carries the signature of ``body`` by one of
    ``secrets`` (PagerDuty sends several signatures while a secret rotates)."""
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str.
    offered = [s.strip().encode() for s in header.split(",")]
    return any(hmac.compare_digest(signature(body, secret).encode(), o)
               for secret in secrets for o in offered)


def _labels(inc: IncidentData) -> dict[str, str]:
    labels = {"alertname": inc.title, "pagerduty_incident": inc.id, "urgency": inc.urgency}
    if inc.service is not None and inc.service.summary:
        labels["service"] = inc.service.summary
        labels["pagerduty_service_id"] = inc.service.id
    severity = _URGENCY.get(inc.urgency.lower(), "P1")
    if inc.priority is not None and inc.priority.summary:
        labels["pagerduty_priority"] = inc.priority.summary
        severity = _PRIORITY.get(inc.priority.summary.upper(), "P1")
    labels["severity"] = severity
    return labels


def parse_pagerduty(body: bytes, received_at: datetime) -> AlertBatch | str:
    """The batch for an incident event, or why the event is ignored."""
    try:
        hook = validated(Webhook, body)
    except ValidationError as exc:
        raise BadAlert(f"not a PagerDuty V3 webhook: {explain(exc)}") from None
    status = EVENT_STATUS.get(hook.event.event_type)
    if status is None:
        return f"event type {hook.event.event_type!r} is not acted on"
    try:
        # Back to JSON: strict validation reads datetimes from JSON strings only.
        inc = IncidentData.model_validate_json(pydantic_core.to_json(hook.event.data))
    except ValidationError as exc:
        raise BadAlert(f"not a PagerDuty incident: event.data.{explain(exc)}") from None
    annotations = {"summary": inc.title, "pagerduty_url": inc.html_url,
                   "pagerduty_event": hook.event.id}
    if inc.incident_key:
        annotations["incident_key"] = inc.incident_key
    # A PagerDuty title is free text (up to 1,024 characters): it names the alert cut
    # to an alert name's length, and stays whole in the summary and the alertname label.
    started = plausible_start(inc.created_at or hook.event.occurred_at, received_at)
    alert: dict[str, object] = dict(
        source="pagerduty", name=inc.title[:MAX_NAME], labels=_labels(inc),
        annotations={k: v for k, v in annotations.items() if v}, status=status,
        fingerprint=inc.id, starts_at=started, received_at=received_at)
    return batch_of(f"pagerduty:{inc.id}", [alert])
