"""The safety rails over HTTP: ``/v1/maintenance`` (list, open, end windows),
``/v1/pause`` and ``/v1/resume``, and ``GET /v1/guard`` (every rail's status). Reads as
for incidents; changes act as the user of the request's API token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from remediator.settings import Settings
from starters.guard import Guard, GuardRefused, GuardUnavailable
from starters.http.auth import ApiAuth
from starters.http.body import BodyTooLarge, read_body, utf16_limit
from starters.http.health import Note
from starters.http.openapi import json_body, schema_of
from starters.http.readiness import TemporalLink
from workflows.guard.models import MaintenanceRequest, Recurrence

log = structlog.get_logger()
# Room for every field at its longest, even written as JSON \uXXXX escapes (a schema
# -valid body is never refused as too large).
BODY_LIMIT = 65_536
Text256 = Annotated[str, Field(min_length=1, max_length=256), utf16_limit(256)]
Text2000 = Annotated[str, Field(min_length=1, max_length=2000), utf16_limit(2000)]


class MaintenanceBody(BaseModel):
    """``POST /v1/maintenance``: the creator is the token's user, not the body."""

    model_config = ConfigDict(extra="forbid")
    matchers: list[Text256] = Field(min_length=1, max_length=20)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration_seconds: float | None = Field(None, gt=0)
    every: Recurrence | None = None
    until: AwareDatetime | None = None
    reason: Text256


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text2000


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def unavailable(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, 503, headers={"Retry-After": "5"})


def guard_router(settings: Settings, link: TemporalLink) -> APIRouter:
    router = APIRouter()
    api = ApiAuth(settings)

    def guard() -> Guard:
        return Guard(link.incidents().client, settings)

    async def act(request: Request, doing: str, body_model: type[BaseModel] | None,
                  change: Any) -> JSONResponse:
        """Authenticate, read the body, ask the guard; refusals are 4xx with the reason."""
        user = api.user(request)
        if user is None:
            return error(f"{doing} needs a valid API bearer token", 401)
        try:
            raw = await read_body(request, BODY_LIMIT)
            body = body_model.model_validate_json(raw) if body_model is not None else None
        except BodyTooLarge:
            return error(f"body larger than {BODY_LIMIT} bytes", 413)
        except ValidationError as exc:
            return error(f"bad request: {exc}", 400)
        try:
            answer: BaseModel = await change(guard(), user, body)
        except GuardRefused as exc:
            return error(str(exc), 404 if "no open or upcoming" in str(exc) else 400)
        except GuardUnavailable as exc:
            return unavailable(str(exc))
        log.info("guard.changed", doing=doing, by=user)
        return JSONResponse(answer.model_dump(mode="json"))

    async def read(pick: str | None) -> JSONResponse:
        try:
            found = (await guard().status()).model_dump(mode="json")
        except GuardUnavailable as exc:
            return unavailable(str(exc))
        return JSONResponse(found if pick is None else {pick: found[pick]})

    @router.get("/v1/guard", dependencies=[Depends(api.require_reader)])
    async def guard_status() -> JSONResponse:
        """Locks, cooldowns, blocks, windows, the pause state and the fleet caps."""
        return await read(None)

    @router.get("/v1/maintenance", dependencies=[Depends(api.require_reader)])
    async def windows() -> JSONResponse:
        """Open and upcoming maintenance windows."""
        return await read("windows")

    @router.post("/v1/maintenance", status_code=201,
                 openapi_extra=json_body(schema_of(MaintenanceBody)))
    async def add_window(request: Request) -> JSONResponse:
        async def change(g: Guard, user: str, body: MaintenanceBody) -> BaseModel:
            try:
                req = MaintenanceRequest(**body.model_dump(), created_by=user)
            except ValidationError as exc:
                raise GuardRefused(str(exc)) from None
            return await g.add_window(req)

        answer = await act(request, "opening a maintenance window", MaintenanceBody, change)
        if answer.status_code == 200:
            answer.status_code = 201
        return answer

    @router.delete("/v1/maintenance/{window_id}")
    async def end_window(window_id: str, request: Request) -> JSONResponse:
        async def change(g: Guard, user: str, _: None) -> BaseModel:
            return await g.end_window(window_id, user)

        return await act(request, "ending a maintenance window", None, change)

    @router.post("/v1/pause", openapi_extra=json_body(schema_of(PauseBody)))
    async def pause(request: Request) -> JSONResponse:
        async def change(g: Guard, user: str, body: PauseBody) -> BaseModel:
            return await g.pause(user, body.reason)

        return await act(request, "pausing automation", PauseBody, change)

    @router.post("/v1/resume")
    async def resume(request: Request) -> JSONResponse:
        async def change(g: Guard, user: str, _: None) -> BaseModel:
            return await g.resume(user)

        return await act(request, "resuming automation", None, change)

    return router


def automation_note(link: TemporalLink, settings: Settings) -> Note:
    """``/healthz``'s ``automation`` entry: only when paused (who, why, since)."""

    async def note() -> dict[str, Any] | None:
        paused = await Guard(link.incidents().client, settings).paused(timedelta(seconds=1))
        if paused is None:
            return None
        return {"paused": True, "by": paused.by, "reason": paused.reason,
                "since": paused.since.isoformat()}

    return note
