"""``POST /v1/alerts/{source}``: one route per alert source. Each authenticates, reads
a bounded body, parses it with its source's parser and forwards the batch; nothing is
started for a body that is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from remediator.models.alert import AlertBatch
from remediator.settings import Settings
from remediator.telemetry.metrics import Metrics, severity_label
from starters.alerts import pagerduty
from starters.alerts.alertmanager import AlertmanagerWebhook, parse_alertmanager
from starters.alerts.common import BadAlert
from starters.alerts.generic import GenericAlert, parse_generic
from starters.alerts.grafana import GrafanaWebhook, parse_grafana
from starters.http.auth import Unauthenticated, WebhookAuth
from starters.http.body import BodyTooLarge, read_body
from starters.http.openapi import json_body, pagerduty_schema, schema_of
from workflows.triage_rules import classify

log = structlog.get_logger()

DRY_RUN_VALUES = {"true": True, "1": True, "false": False, "0": False}


def count_outcome(metrics: Metrics, path: str, batch: AlertBatch, created: bool) -> None:
    """An opened incident by the severity its alert asks for (triage may raise it) and
    service; otherwise the delivery joined an open incident."""
    source = path.rsplit("/", 1)[-1]
    if not created:
        metrics.alerts_deduplicated.labels(source).inc()
        return
    labels = batch.alerts[0].labels
    severity, _ = classify(labels, None)
    metrics.incidents_opened.labels(severity_label(severity),
                                    metrics.service(labels.get("service"))).inc()


def alerts_router(settings: Settings, auth: WebhookAuth,
                  replays: pagerduty.ReplayCache) -> APIRouter:
    """The alert webhooks, answering ``202 {"incidents": [...]}`` or ``4xx {"error"}``."""
    router = APIRouter()
    authenticated = Depends(auth.require_bearer)

    async def accept(request: Request, parse: Callable[[bytes], AlertBatch | str],
                     check: Callable[[Request, bytes], None] | None = None,
                     delivery_of: Callable[[AlertBatch], str | None] | None = None,
                     ) -> JSONResponse:
        """Authenticate, parse and forward one alert delivery. With ``delivery_of``
        (the sender's delivery id), a delivery seen before is acknowledged and dropped."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "Content-Type must be application/json"}, 415)
        try:
            body = await read_body(request, settings.max_body_bytes)
            if check is not None:
                check(request, body)
        except BodyTooLarge:
            return JSONResponse({"error": f"body larger than {settings.max_body_bytes} bytes"}, 413)
        except Unauthenticated as exc:
            return JSONResponse({"error": str(exc)}, 401)
        dry_run = DRY_RUN_VALUES.get(request.query_params.get("dry_run", "false").lower())
        if dry_run is None:
            return JSONResponse({"error": "dry_run must be true or false"}, 400)
        try:
            batch = parse(body)
        except BadAlert as exc:
            log.info("alert.rejected", reason=str(exc))
            return JSONResponse({"error": str(exc)}, 400)
        if isinstance(batch, str):
            log.info("alert.ignored", reason=batch)
            return JSONResponse({"incidents": [], "note": batch}, 202)
        delivery = delivery_of(batch) if delivery_of is not None else None
        if delivery is not None and not await replays.claim(request.url.path, delivery):
            log.info("alert.replayed", path=request.url.path)
            return JSONResponse({"incidents": [], "note": "delivery already accepted; "
                                 "nothing done again"}, 202)
        try:
            opened = await request.app.state.incidents.open_or_join(batch, dry_run=dry_run)
        except BaseException:
            if delivery is not None:  # not acknowledged: the sender's retry must go through
                await replays.release(request.url.path, delivery)
            raise
        count_outcome(request.app.state.metrics, request.url.path, batch, opened.created)
        entry: dict[str, object] = {"id": opened.id, "created": opened.created}
        if opened.note:
            entry["note"] = opened.note
        if not opened.duplicate:  # a storm's duplicates are counted, not logged one by one
            log.info("alert.accepted", incident_id=opened.id, created=opened.created,
                     alerts=len(batch.alerts))
        return JSONResponse({"incidents": [entry]}, 202)

    def now() -> datetime:
        return datetime.now(UTC)

    @router.post("/v1/alerts/alertmanager", dependencies=[authenticated],
                 openapi_extra=json_body(schema_of(AlertmanagerWebhook)))
    async def alertmanager(request: Request) -> JSONResponse:
        return await accept(request, lambda body: parse_alertmanager(
            body, now(), settings.max_alerts_per_request))

    @router.post("/v1/alerts/grafana", dependencies=[authenticated],
                 openapi_extra=json_body(schema_of(GrafanaWebhook)))
    async def grafana(request: Request) -> JSONResponse:
        return await accept(request, lambda body: parse_grafana(
            body, now(), settings.max_alerts_per_request))

    @router.post("/v1/alerts/generic", dependencies=[authenticated],
                 openapi_extra=json_body(schema_of(GenericAlert)))
    async def generic(request: Request) -> JSONResponse:
        return await accept(request, lambda body: parse_generic(body, now()))

    @router.post("/v1/alerts/pagerduty", openapi_extra=json_body(pagerduty_schema()))
    async def pagerduty_webhook(request: Request) -> JSONResponse:
        return await accept(request, lambda body: pagerduty.parse_pagerduty(
            body, now(), settings.pagerduty_max_age_seconds), check=auth.pagerduty,
            delivery_of=pagerduty.delivery_id)

    return router
