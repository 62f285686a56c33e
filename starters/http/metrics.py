"""``GET /metrics``: the webhook server's Prometheus metrics, and the ASGI middleware
that counts every alert delivery and every refusal (by webhook and HTTP status: the
401s of the auth dependency and the 503s of the error handlers included)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remediator.telemetry.metrics import CONTENT_TYPE, Metrics

ALERT_SOURCES = frozenset({"alertmanager", "grafana", "generic", "pagerduty"})
ALERTS_PREFIX = "/v1/alerts/"


def metrics_router() -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        exported: Metrics = request.app.state.metrics
        return Response(exported.exposition(), media_type=CONTENT_TYPE)

    return router


class CountAlerts:
    """Pure ASGI (the body is streamed through untouched)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        source = path[len(ALERTS_PREFIX):] if path.startswith(ALERTS_PREFIX) else ""
        if source not in ALERT_SOURCES or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        self.metrics.alerts_received.labels(source).inc()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                self.metrics.alerts_refused.labels(source, str(message["status"])).inc()
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except Exception:
            self.metrics.alerts_refused.labels(source, "500").inc()
            raise
