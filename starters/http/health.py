"""``GET /healthz``: whether every dependency serve uses is reachable right now, and
(only when it is) that automation is paused, by whom and why."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from starters.http.readiness import Probe, unreachable

# Extra lines of the answer: each returns its entry, or None to say nothing.
Note = Callable[[], Awaitable[dict[str, Any] | None]]


def health_router(probes: dict[str, Probe], notes: dict[str, Note] | None = None) -> APIRouter:
    """``200 {"status": "ok"}``, or ``503`` naming the unreachable ``probes``; ``notes``
    add their entries (e.g. ``"automation": {"paused": true, …}``) when they have one."""
    router = APIRouter()
    extra = notes or {}

    async def noted() -> dict[str, Any]:
        async def one(note: Note) -> dict[str, Any] | None:
            try:
                return await note()
            except Exception:  # a note never makes the health check fail
                return None

        found = await asyncio.gather(*(one(n) for n in extra.values()))
        return {name: entry for name, entry in zip(extra, found, strict=True) if entry}

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        down, notes_found = await asyncio.gather(unreachable(probes), noted())
        if down:
            return JSONResponse({"status": "unavailable", "unreachable": down, **notes_found}, 503)
        return JSONResponse({"status": "ok", **notes_found})

    return router
