"""``/status``, ``/status.json``, ``/status/incidents/{id}``: the public status page.

Open to anyone (it is what customers read): it shows only what
``remediator.public_status`` derives — services, their state, and the customer-facing
updates of P0/P1 incidents (``REMEDIATOR_STATUS_SEVERITIES``) — never titles, runbooks,
hosts, labels, plans or people. Server-rendered, no external assets, reloads itself.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from remediator.settings import Settings
from starters.status.board import StatusBoard

TEMPLATES = Path(__file__).parent.parent / "status" / "templates"


def status_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    boards: list[StatusBoard] = []

    def board_of(request: Request) -> StatusBoard:
        """One board per app, made once Temporal is connected (its cache is per process)."""
        if not boards:
            boards.append(StatusBoard(
                request.app.state.incidents, settings.status_severities,
                settings.status_components, settings.status_title, settings.status_days,
                settings.status_cache_seconds))
        return boards[0]

    def html(template: str, **values: object) -> HTMLResponse:
        body = env.get_template(template).render(refresh=settings.status_refresh_seconds, **values)
        return HTMLResponse(body, headers={"cache-control": "no-cache"})

    @router.get("/status", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        return html("status.html", board=await board_of(request).board())

    @router.get("/status.json")
    async def as_json(request: Request) -> JSONResponse:
        return JSONResponse((await board_of(request).board()).model_dump(mode="json"))

    @router.get("/status/incidents/{incident_id}", response_class=HTMLResponse,
                include_in_schema=False)
    async def incident(incident_id: str, request: Request) -> HTMLResponse:
        board = board_of(request)
        inc = await board.incident(incident_id)
        if inc is None:
            return HTMLResponse("<!doctype html><title>Not found</title><p>No such incident.",
                                status_code=404)
        return html("incident.html", board=await board.board(), inc=inc)

    return router
