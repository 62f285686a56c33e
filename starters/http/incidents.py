"""``/v1/incidents``: read one incident, declare one, decide a step waiting for approval,
re-classify one. Each acts as the user of the request's API token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest, group_name_refusal
from remediator.settings import Settings
from starters.alerts.common import BadAlert, parse_json
from starters.declarations import BadDeclaration, DeclareBody, declaration_from, severity_of
from starters.http.auth import ApiAuth
from starters.http.body import BodyTooLarge, read_body
from starters.http.openapi import json_body, schema_of
from starters.incidents import DecisionRefused, IncidentNotFound
from workflows.incident_models import SeverityChange

log = structlog.get_logger()


class DecisionBody(BaseModel):
    """``POST /v1/incidents/{id}/approvals``: the approver is the token's user, not the body."""

    model_config = ConfigDict(extra="forbid")
    step: str = Field(min_length=1, max_length=128)
    decision: Literal["approve", "reject"]
    plan_hash: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=2000)


class SeverityBody(BaseModel):
    """``POST /v1/incidents/{id}/severity``: who changes it is the token's user."""

    model_config = ConfigDict(extra="forbid")
    severity: str = Field(min_length=2, max_length=8, description="P0–P3, or sev-1–sev-4")
    reason: str = Field(min_length=1, max_length=2000)


def incidents_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    api = ApiAuth(settings)

    @router.get("/v1/incidents/{incident_id}", dependencies=[Depends(api.require_reader)])
    async def incident(incident_id: str, request: Request) -> JSONResponse:
        try:
            view = await request.app.state.incidents.view(incident_id)
        except IncidentNotFound:
            return JSONResponse({"error": f"no incident {incident_id}"}, 404)
        return JSONResponse(view.model_dump(mode="json"))

    @router.post("/v1/incidents", status_code=201,
                 openapi_extra=json_body(schema_of(DeclareBody)))
    async def declare(request: Request) -> JSONResponse:
        """Open an incident with no alert; the declarer is the token's user."""
        user = api.user(request)
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
        request.app.state.metrics.incidents_opened.labels(
            str(declaration.severity), request.app.state.metrics.service(declaration.service)).inc()
        log.info("incident.declared", incident_id=opened.id, by=user)
        return JSONResponse({"id": opened.id, "created": True}, 201)

    @router.post("/v1/incidents/{incident_id}/approvals",
                 openapi_extra=json_body(schema_of(DecisionBody)))
    async def approvals(incident_id: str, request: Request) -> JSONResponse:
        user = api.user(request)
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

    @router.post("/v1/incidents/{incident_id}/severity", status_code=202,
                 openapi_extra=json_body(schema_of(SeverityBody)))
    async def severity(incident_id: str, request: Request) -> JSONResponse:
        """Raise or lower the incident's severity (as ``remediator severity``); the
        incident records the change, or refuses it on its timeline (``signal.refused``)."""
        user = api.user(request)
        if user is None:
            return JSONResponse({"error": "changing severity needs a valid API bearer token"},
                                401)
        try:
            body = SeverityBody.model_validate_json(await read_body(request, 16_384))
            change = SeverityChange(by=user, severity=severity_of(body.severity),
                                    reason=body.reason)
        except (BodyTooLarge, ValidationError, BadDeclaration) as exc:
            return JSONResponse({"error": f"bad severity change: {exc}"}, 400)
        incidents = request.app.state.incidents
        try:
            await incidents.view(incident_id)  # an unknown incident is a 404, not a signal
            await incidents.set_severity(incident_id, change)
        except IncidentNotFound:
            return JSONResponse({"error": f"no incident {incident_id}"}, 404)
        log.info("incident.severity_sent", incident_id=incident_id, by=user,
                 severity=str(change.severity))
        return JSONResponse({"id": incident_id, "severity": change.severity, "by": user}, 202)

    return router
