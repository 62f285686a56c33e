"""Waiting for an incident to reach a state, through its ``status`` query."""

from __future__ import annotations

from starters.incidents import Incidents
from tests.support.polling import eventually
from workflows.incident_models import IncidentView


async def wait_done(incidents: Incidents, incident_id: str, timeout: float = 90) -> IncidentView:
    """The incident's view once it reached phase ``done`` (postmortem drafted)."""

    async def probe() -> IncidentView | None:
        view = await incidents.view(incident_id)
        return view if view.phase == "done" else None

    return await eventually(probe, timeout=timeout, what=f"{incident_id} done")
