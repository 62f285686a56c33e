"""The alert webhook server: alerts in, incident state out. No business rules here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Literal

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from remediator.settings import Settings
from remediator.temporal import connect
from starters import pagerduty
from starters.alert_formats import (
    AlertmanagerWebhook,
    BadAlert,
    GenericAlert,
    GrafanaWebhook,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from starters.incidents import DecisionRefused, IncidentNotFound, Incidents
from starters.openapi import json_body, pagerduty_schema, schema_of
from starters.webhook_auth import Unauthenticated, WebhookAuth
from workflows.approval_models import ApprovalRequest
from workflows.models import AlertBatch

log = structlog.get_logger()


DRY_RUN_VALUES = {"true": True, "1": True, "false": False, "0": False}


class BodyTooLarge(Exception):
    pass


class DecisionBody(BaseModel):
    """``POST /v1/incidents/{id}/approvals``: the approver is the token's user, not the body."""

    model_config = ConfigDict(extra="forbid")
    step: str = Field(min_length=1, max_length=128)
    decision: Literal["approve", "reject"]
    plan_hash: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=2000)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings, incidents: Incidents | None = None) -> FastAPI:
    """The FastAPI app; connects to Temporal at startup unless ``incidents`` is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.incidents = incidents or Incidents(await connect(settings), settings.task_queue)
        yield

    app = FastAPI(title="remediator", lifespan=lifespan)
    auth = WebhookAuth(settings)
    authenticated = Depends(auth.require_bearer)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    async def accept(request: Request, parse: Callable[[bytes], AlertBatch | str],
                     check: Callable[[Request, bytes], None] | None = None) -> JSONResponse:
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
        opened = await request.app.state.incidents.open_or_join(batch, dry_run=dry_run)
        entry: dict[str, object] = {"id": opened.id, "created": opened.created}
        if opened.note:
            entry["note"] = opened.note
        log.info("alert.accepted", incident_id=opened.id, created=opened.created,
                 alerts=len(batch.alerts))
        return JSONResponse({"incidents": [entry]}, 202)

    def now() -> datetime:
        return datetime.now(UTC)

    @app.post("/v1/alerts/alertmanager", dependencies=[authenticated],
              openapi_extra=json_body(schema_of(AlertmanagerWebhook)))
    async def alertmanager(request: Request) -> JSONResponse:
        return await accept(request, lambda body: parse_alertmanager(
            body, now(), settings.max_alerts_per_request))

    @app.post("/v1/alerts/grafana", dependencies=[authenticated],
              openapi_extra=json_body(schema_of(GrafanaWebhook)))
    async def grafana(request: Request) -> JSONResponse:
        return await accept(request, lambda body: parse_grafana(
            body, now(), settings.max_alerts_per_request))

    @app.post("/v1/alerts/generic", dependencies=[authenticated],
              openapi_extra=json_body(schema_of(GenericAlert)))
    async def generic(request: Request) -> JSONResponse:
        return await accept(request, lambda body: parse_generic(body, now()))

    @app.post("/v1/alerts/pagerduty", openapi_extra=json_body(pagerduty_schema()))
    async def pagerduty_webhook(request: Request) -> JSONResponse:
        return await accept(request, lambda body: pagerduty.parse_pagerduty(body, now()),
                            check=auth.pagerduty)

    @app.get("/v1/incidents/{incident_id}")
    async def incident(incident_id: str, request: Request) -> JSONResponse:
        try:
            view = await request.app.state.incidents.view(incident_id)
        except IncidentNotFound:
            return JSONResponse({"error": f"no incident {incident_id}"}, 404)
        return JSONResponse(view.model_dump(mode="json"))

    @app.post("/v1/incidents/{incident_id}/approvals",
              openapi_extra=json_body(schema_of(DecisionBody)))
    async def approvals(incident_id: str, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user = settings.user_for_token(token) if scheme.lower() == "bearer" else None
        if user is None:
            return JSONResponse({"error": "approvals need a valid API bearer token"}, 401)
        try:
            body = DecisionBody.model_validate_json(await read_body(request, 16_384))
        except (BodyTooLarge, ValidationError) as exc:
            return JSONResponse({"error": f"bad approval: {exc}"}, 400)
        req = ApprovalRequest(step=body.step, approver=user, plan_hash=body.plan_hash,
                              reason=body.reason, approve=body.decision == "approve")
        try:
            answer = await request.app.state.incidents.decide(incident_id, req)
        except IncidentNotFound:
            return JSONResponse({"error": f"no incident {incident_id}"}, 404)
        except DecisionRefused as exc:
            return JSONResponse({"error": str(exc)}, 409)
        return JSONResponse(answer.model_dump(mode="json"))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
