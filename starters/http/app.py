"""The alert webhook server's app: its Redis and Temporal connections, their lifespan,
the answers to errors, and the routers of each resource."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from remediator.settings import Settings
from remediator.telemetry.metrics import Metrics
from remediator.temporal import temporal_unreachable
from starters.alerts import pagerduty
from starters.http.alerts import alerts_router
from starters.http.auth import WebhookAuth
from starters.http.guard import automation_note, guard_router
from starters.http.health import health_router
from starters.http.incidents import incidents_router
from starters.http.metrics import CountAlerts, metrics_router
from starters.http.readiness import (
    IncidentsWhenConnected,
    Probe,
    TemporalLink,
    TemporalNotConnected,
)
from starters.http.slack import slack_router
from starters.http.status import status_router
from starters.incidents import Incidents, NotRouted
from starters.shield import StormShield

log = structlog.get_logger()


# Alertmanager and PagerDuty retry a 503; this is the pause we suggest.
RETRY_AFTER_SECONDS = 5
# How long serve's start waits for its first Temporal attempt before it listens anyway:
# started after Temporal, it should answer the first alert rather than 503 it.
FIRST_CONNECT_SECONDS = 1.0
# Redis connections of one webhook server (the storm shield; each alert holds one for a
# round trip or two).
REDIS_CONNECTIONS = 100


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
    replays = pagerduty.ReplayCache(redis_client, settings.pagerduty_max_age_seconds
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
    app.state.metrics = metrics = Metrics.for_runbooks(settings.runbook_dir)
    app.add_middleware(CountAlerts, metrics=metrics)
    # Call sites use app.state.incidents as an ``Incidents``; before serve has reached
    # Temporal each use raises TemporalNotConnected, answered 503 below.
    app.state.incidents = IncidentsWhenConnected(link)
    answer_errors(app)
    app.include_router(alerts_router(settings, WebhookAuth(settings), replays))
    app.include_router(incidents_router(settings))
    app.include_router(guard_router(settings, link))
    app.include_router(slack_router(settings, redis_client))
    app.include_router(status_router(settings))
    app.include_router(metrics_router())
    app.include_router(health_router(probes, {"automation": automation_note(link, settings)}))
    return app


def answer_errors(app: FastAPI) -> None:
    """Every error as ``{"error": "..."}``; Temporal being away or busy as a 503 that
    senders retry (nothing was acknowledged: a 2xx only follows Temporal's answer)."""

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
