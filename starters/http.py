"""The alert webhook server: alerts in, incident state out. No business rules here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Literal

import redis.asyncio as aioredis
import structlog
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from remediator.approval_proof import sign
from remediator.settings import Settings
from remediator.temporal import temporal_unreachable
from starters import pagerduty
from starters.alert_formats import (
    AlertmanagerWebhook,
    BadAlert,
    GenericAlert,
    GrafanaWebhook,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
    parse_json,
)
from starters.declarations import BadDeclaration, DeclareBody, declaration_from
from starters.incidents import DecisionRefused, IncidentNotFound, Incidents, NotRouted
from starters.openapi import json_body, pagerduty_schema, schema_of
from starters.readiness import (
    IncidentsWhenConnected,
    Probe,
    TemporalLink,
    TemporalNotConnected,
    unreachable,
)
from starters.replay import ReplayCache
from starters.shield import StormShield
from starters.webhook_auth import Unauthenticated, WebhookAuth
from workflows.approval_models import ApprovalRequest, group_name_refusal
from workflows.models import AlertBatch

log = structlog.get_logger()


DRY_RUN_VALUES = {"true": True, "1": True, "false": False, "0": False}
# Alertmanager and PagerDuty retry a 503; this is the pause we suggest.
RETRY_AFTER_SECONDS = 5
# How long serve's start waits for its first Temporal attempt before it listens anyway:
# started after Temporal, it should answer the first alert rather than 503 it.
FIRST_CONNECT_SECONDS = 1.0
# Redis connections of one webhook server (the storm shield; each alert holds one for a
# round trip or two).
REDIS_CONNECTIONS = 100


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


def unavailable(reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, 503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def create_app(settings: Settings, incidents: Incidents | None = None) -> FastAPI:
    """The FastAPI app. It listens at once and connects to Temporal in the background
    (unless ``incidents`` is given); until Temporal answers, incident endpoints say 503."""
    # Exact duplicates are answered from Redis (lazily connected; steps aside when down).
    # A blocking pool: past its size a request waits for a connection, where redis-py's
    # default pool raises "Too many connections" and the shield would step aside in the
    # middle of a storm (seen with 100 alerts in flight plus the flusher).
    redis_client = aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=REDIS_CONNECTIONS, timeout=2, socket_timeout=2,
        socket_connect_timeout=2))
    shield = StormShield(redis_client) if incidents is None else None
    # A replayed delivery is refused as stale once the window has passed; until then
    # its id is remembered here, by every replica.
    replays = ReplayCache(redis_client, settings.pagerduty_max_age_seconds
                          + pagerduty.MAX_FUTURE_SECONDS)
    link = TemporalLink(settings, incidents, shield)
    # Dependencies /healthz reports on; one line per dependency serve uses.
    probes: dict[str, Probe] = {"temporal": link.probe}
    if shield is not None:
        probes["redis"] = shield.ping

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if incidents is None:
            connecting = asyncio.create_task(link.connect())
            await asyncio.wait([connecting], timeout=FIRST_CONNECT_SECONDS)
            tasks.append(connecting)
        if shield is not None:
            tasks.append(asyncio.create_task(shield.flush_forever(
                lambda incident_id, count: link.incidents().signal_duplicates(incident_id, count),
                settings.duplicate_flush_seconds)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await redis_client.aclose()

    app = FastAPI(title="remediator", lifespan=lifespan)
    # Call sites use app.state.incidents as an ``Incidents``; before serve has reached
    # Temporal each use raises TemporalNotConnected, answered 503 below.
    app.state.incidents = IncidentsWhenConnected(link)
    auth = WebhookAuth(settings)
    authenticated = Depends(auth.require_bearer)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(TemporalNotConnected)
    async def not_connected(_: Request, exc: TemporalNotConnected) -> JSONResponse:
        return unavailable(f"{exc}; retry later")

    @app.exception_handler(NotRouted)
    async def not_routed(_: Request, exc: NotRouted) -> JSONResponse:
        log.warning("alert.not_routed", error=str(exc))
        return unavailable(f"{exc}; retry later")

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> JSONResponse:
        # Nothing was acknowledged: a 2xx is only sent after Temporal took the start/signal.
        if temporal_unreachable(exc):
            log.warning("temporal.unreachable", path=request.url.path, error=exc.message)
            return unavailable("Temporal is not reachable; retry later")
        if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:  # Temporal sheds load: retry
            log.warning("temporal.busy", path=request.url.path, error=exc.message)
            return unavailable(f"Temporal is busy ({exc.message}); retry later")
        log.error("temporal.error", path=request.url.path, status=exc.status.name,
                  error=exc.message)
        return JSONResponse({"error": f"Temporal refused the request: {exc.message}"}, 500)

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
        entry: dict[str, object] = {"id": opened.id, "created": opened.created}
        if opened.note:
            entry["note"] = opened.note
        if not opened.duplicate:  # a storm's duplicates are counted, not logged one by one
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
        return await accept(request, lambda body: pagerduty.parse_pagerduty(
            body, now(), settings.pagerduty_max_age_seconds), check=auth.pagerduty,
            delivery_of=pagerduty.delivery_id)

    def api_user(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return settings.user_for_token(token) if scheme.lower() == "bearer" else None

    async def require_reader(request: Request) -> None:
        """A FastAPI dependency for reads: beyond loopback (or with
        REMEDIATOR_READS_NEED_TOKEN) any valid API token; on loopback, no token."""
        if settings.reads_guarded and api_user(request) is None:
            raise HTTPException(401, "reading incidents needs a valid API bearer token")

    @app.get("/v1/incidents/{incident_id}", dependencies=[Depends(require_reader)])
    async def incident(incident_id: str, request: Request) -> JSONResponse:
        try:
            view = await request.app.state.incidents.view(incident_id)
        except IncidentNotFound:
            return JSONResponse({"error": f"no incident {incident_id}"}, 404)
        return JSONResponse(view.model_dump(mode="json"))

    @app.post("/v1/incidents", status_code=201,
              openapi_extra=json_body(schema_of(DeclareBody)))
    async def declare(request: Request) -> JSONResponse:
        """Open an incident with no alert; the declarer is the token's user."""
        user = api_user(request)
        if user is None:
            return JSONResponse({"error": "declaring needs a valid API bearer token"}, 401)
        try:
            fields = parse_json(await read_body(request, 16_384))
            if not isinstance(fields, dict):
                raise BadDeclaration("the body is a JSON object")
            declaration = declaration_from(fields, user, settings.runbook_dir)
        except BodyTooLarge:
            return JSONResponse({"error": "body larger than 16384 bytes"}, 413)
        except (BadAlert, BadDeclaration) as exc:
            return JSONResponse({"error": f"bad declaration: {exc}"}, 400)
        opened = await request.app.state.incidents.declare(declaration)
        log.info("incident.declared", incident_id=opened.id, by=user)
        return JSONResponse({"id": opened.id, "created": True}, 201)

    @app.post("/v1/incidents/{incident_id}/approvals",
              openapi_extra=json_body(schema_of(DecisionBody)))
    async def approvals(incident_id: str, request: Request) -> JSONResponse:
        user = api_user(request)
        if user is None:
            return JSONResponse({"error": "approvals need a valid API bearer token"}, 401)
        # A token user named like a group is still sent on: the incident refuses and
        # records it (every refusal is audited); the answer stays 403.
        named_a_group = group_name_refusal(user) is not None
        try:
            body = DecisionBody.model_validate_json(await read_body(request, 16_384))
        except (BodyTooLarge, ValidationError) as exc:
            return JSONResponse({"error": f"bad approval: {exc}"}, 400)
        secret = settings.secret_for(user)
        assert secret is not None  # the token authenticated this user
        req = sign(incident_id, ApprovalRequest(
            step=body.step, approver=user, plan_hash=body.plan_hash, reason=body.reason,
            approve=body.decision == "approve", via="http"), secret, datetime.now(UTC))
        try:
            answer = await request.app.state.incidents.decide(incident_id, req)
        except IncidentNotFound:
            return JSONResponse({"error": f"no incident {incident_id}"}, 404)
        except DecisionRefused as exc:
            return JSONResponse({"error": str(exc)}, 403 if named_a_group else 409)
        return JSONResponse(answer.model_dump(mode="json"))

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        down = await unreachable(probes)
        if down:
            return JSONResponse({"status": "unavailable", "unreachable": down}, 503)
        return JSONResponse({"status": "ok"})

    return app
