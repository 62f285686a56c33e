"""PagerDuty V3 webhooks → normalised alert batches, their signature check, and the
replay cache that remembers which deliveries were already accepted.

A PagerDuty incident becomes one remediator incident (group key: the PagerDuty
incident id). ``incident.triggered`` and ``incident.reopened`` fire it,
``incident.resolved`` resolves it; other event types (acknowledged, annotated,
``pagey.ping`` …) are acknowledged and ignored, so PagerDuty does not retry them.

PagerDuty's priorities (P1 highest … P5) are shifted onto the seed table, P1 → P0
(SEV-1): PagerDuty's top priority is a page for an outage, and "when in doubt,
over-classify". Without a priority, urgency ``high`` is P1 and ``low`` is P3.

A signed delivery is still refused when its event is stale (``occurred_at`` older than
the freshness window, or too far ahead of our clock): a captured delivery cannot be
replayed later. Replays inside the window are caught by the delivery id
(``event.id``), remembered in a replay cache for as long as the window lasts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import pydantic_core
import redis.asyncio as aioredis
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import RedisError

from remediator.models.alert import AlertBatch, AlertStatus
from starters.alerts.common import (
    MAX_NAME,
    BadAlert,
    batch_of,
    explain,
    plausible_start,
    validated,
)

log = structlog.get_logger()

EVENT_STATUS = {"incident.triggered": AlertStatus.FIRING, "incident.reopened": AlertStatus.FIRING,
                 "incident.resolved": AlertStatus.RESOLVED}
_PRIORITY = {"P1": "P0", "P2": "P1", "P3": "P2", "P4": "P3", "P5": "P3"}
_URGENCY = {"high": "P1", "low": "P3"}
# How far ahead of our clock an event may claim to have occurred (clock skew).
MAX_FUTURE_SECONDS = 5 * 60.0


class StaleDelivery(BadAlert):
    """The event occurred outside the freshness window: possibly a replayed delivery."""


class _Loose(BaseModel):
    # strict: JSON types as documented, as in starters.alerts.common.
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


def check_fresh(occurred_at: datetime, received_at: datetime, max_age_seconds: float) -> None:
    """StaleDelivery unless the event occurred within ``max_age_seconds`` before
    ``received_at`` and at most MAX_FUTURE_SECONDS after it (naive times are UTC)."""
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    age = (received_at - occurred_at).total_seconds()
    if age > max_age_seconds:
        raise StaleDelivery(
            f"stale PagerDuty delivery: event.occurred_at {occurred_at.isoformat()} is "
            f"{age:.0f} s old, more than the {max_age_seconds:.0f} s allowed; refused as a "
            "possible replay")
    if age < -MAX_FUTURE_SECONDS:
        raise StaleDelivery(
            f"PagerDuty delivery from the future: event.occurred_at {occurred_at.isoformat()} "
            f"is {-age:.0f} s ahead of this server's clock (at most {MAX_FUTURE_SECONDS:.0f} s "
            "allowed); refused")


def delivery_id(batch: AlertBatch) -> str | None:
    """The PagerDuty delivery (``event.id``) a batch from ``parse_pagerduty`` came from."""
    return next((a.annotations["pagerduty_event"] for a in batch.alerts
                 if a.annotations.get("pagerduty_event")), None)


def parse_pagerduty(body: bytes, received_at: datetime,
                    max_age_seconds: float | None = None) -> AlertBatch | str:
    """The batch for an incident event, or why the event is ignored. With
    ``max_age_seconds``, a stale event raises StaleDelivery (see ``check_fresh``)."""
    try:
        hook = validated(Webhook, body)
    except ValidationError as exc:
        raise BadAlert(f"not a PagerDuty V3 webhook: {explain(exc)}") from None
    if max_age_seconds is not None:
        check_fresh(hook.event.occurred_at, received_at, max_age_seconds)
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


def as_new_delivery(body: bytes) -> bytes:
    """A payload file sent as a new delivery (fresh ``event.id`` and ``occurred_at``), so
    an example or a saved delivery is neither stale nor a replay. Bodies that are not a
    PagerDuty event are returned unchanged (the server says what is wrong)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        return body
    event["id"] = uuid.uuid4().hex
    event["occurred_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(payload).encode()


# Redis keys of the replay cache, one per delivery id.
REPLAY_PREFIX = "remediator:delivery:"


class ReplayCache:
    """Delivery ids seen in the last ``ttl_seconds``, per source (e.g. ``pagerduty``),
    shared by every webhook server replica through Redis.

    A delivery is claimed before its alert is forwarded and released again when
    forwarding fails (the sender retries the same delivery and must not be told "seen
    before").

    When Redis cannot be reached the cache steps aside and accepts (logged): a repeated
    delivery then reaches its alert group, which joins it to the incident already open
    rather than opening a second one, and the storm shield counts it as a duplicate.
    Refusing every delivery while Redis is away would drop real pages.
    """

    def __init__(self, redis: aioredis.Redis, ttl_seconds: float) -> None:
        self._redis = redis
        self._ttl = max(1, int(ttl_seconds + 0.999))

    @staticmethod
    def _key(source: str, delivery: str) -> str:
        # Hashed: a delivery id is sender-chosen text; the key stays short and inert.
        return REPLAY_PREFIX + source + ":" + hashlib.sha256(delivery.encode()).hexdigest()[:32]

    async def claim(self, source: str, delivery: str) -> bool:
        """True the first time ``delivery`` is seen (now claimed), False for a replay.
        True as well when Redis is unreachable (logged; see the class docstring)."""
        try:
            return bool(await self._redis.set(self._key(source, delivery), b"1", nx=True,
                                              ex=self._ttl))
        except (RedisError, OSError) as exc:
            log.warning("replay_cache.unreachable", source=source, error=type(exc).__name__,
                        outcome="accepted unchecked")
            return True

    async def release(self, source: str, delivery: str) -> None:
        """Forget a claim whose delivery was not acknowledged, so its retry is accepted."""
        try:
            await self._redis.delete(self._key(source, delivery))
        except (RedisError, OSError) as exc:
            log.warning("replay_cache.release_failed", source=source, error=type(exc).__name__)
