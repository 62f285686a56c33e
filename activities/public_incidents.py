"""An incident as customers see it, read from its ``status`` query (untyped here:
activities do not import workflows) and projected by ``remediator.public_status``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from remediator.models.incident import TimelineEntry
from remediator.public_status import PublicIncident, public_incident
from remediator.severity import Severity

PublicSource = Callable[[str], Awaitable[PublicIncident]]


def from_incident(client: Client) -> PublicSource:
    async def read(incident_id: str) -> PublicIncident:
        view = await client.get_workflow_handle(incident_id).query(
            "status", rpc_timeout=timedelta(seconds=5))
        timeline = [TimelineEntry.model_validate(e) for e in view.get("timeline") or []]
        started = timeline[0].at if timeline else datetime.now(UTC)
        resolved = view.get("status") == "resolved"
        closed = next((e.at for e in timeline if e.kind == "incident.resolved"), datetime.now(UTC))
        return public_incident(incident_id, str(view.get("service") or "service"),
                               Severity(view.get("severity") or "P1"), started, timeline,
                               resolved, closed)

    return read
