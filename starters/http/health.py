"""``GET /healthz``: whether every dependency serve uses is reachable right now."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from starters.http.readiness import Probe, unreachable


def health_router(probes: dict[str, Probe]) -> APIRouter:
    """``200 {"status": "ok"}``, or ``503`` naming the unreachable ``probes``."""
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        down = await unreachable(probes)
        if down:
            return JSONResponse({"status": "unavailable", "unreachable": down}, 503)
        return JSONResponse({"status": "ok"})

    return router
