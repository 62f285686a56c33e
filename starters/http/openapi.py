"""Request-body declarations for the OpenAPI document, derived from the models that
validate the bodies, so the document (and the fuzzer that reads it) cannot drift from
what the server accepts. The routes read raw bytes themselves (to bound the size and
check signatures first), so FastAPI would otherwise declare no body at all."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from starters.alerts import pagerduty


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``#/$defs/…`` reference replaced by its definition (the
    models are not recursive), so the schema stands alone inside an operation."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inlined(v, defs) for v in node]
    return node


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, self-contained."""
    schema = model.model_json_schema()
    inlined: dict[str, Any] = _inlined(schema, schema.get("$defs", {}))
    return inlined


def pagerduty_schema() -> dict[str, Any]:
    """The V3 webhook; for the event types it acts on, ``event.data`` is the incident
    (the model keeps ``data`` open because other event types carry other data)."""
    schema = schema_of(pagerduty.Webhook)
    schema["properties"]["event"]["if"] = {
        "properties": {"event_type": {"enum": list(pagerduty.EVENT_STATUS)}}}
    schema["properties"]["event"]["then"] = {
        "properties": {"data": schema_of(pagerduty.IncidentData)}}
    return schema


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose required body is JSON of ``schema``."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}
