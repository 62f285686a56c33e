"""Waiting for an incident to reach a state, through its ``status`` query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from starters.incidents import Incidents
from tests.support.polling import eventually
from workflows.incident_models import IncidentView
from workflows.verify import VerifyWorkflow


async def wait_done(incidents: Incidents, incident_id: str, timeout: float = 90) -> IncidentView:
    """The incident's view once it reached phase ``done`` (postmortem drafted)."""

    async def probe() -> IncidentView | None:
        view = await incidents.view(incident_id)
        return view if view.phase == "done" else None

    return await eventually(probe, timeout=timeout, what=f"{incident_id} done")


@dataclass(frozen=True)
class WindowOpened:
    at: datetime


async def window_opened(client: Client, incident_id: str, timeout: float = 60) -> WindowOpened:
    """When the incident's verify window opened, as soon as it has (from the verify
    phase's ``window`` query: the phase's own view, whichever release opened it)."""
    handle = client.get_workflow_handle_for(VerifyWorkflow.run, f"{incident_id}/verify")

    async def probe() -> WindowOpened | None:
        try:
            return WindowOpened((await handle.query(VerifyWorkflow.window)).started_at)
        except (WorkflowQueryFailedError, RPCError):  # not started, or not open yet
            return None

    return await eventually(probe, timeout=timeout, what=f"{incident_id}'s verify window")
