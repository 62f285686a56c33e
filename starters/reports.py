"""The incidents a report covers, read from Temporal: visibility lists them (started
since a time, of one service), and each one's record comes from its result, its query
or its history (``Incidents.view``), a bounded number at a time."""

from __future__ import annotations

import asyncio
from datetime import datetime

from remediator.models.incident import IncidentStatus
from remediator.telemetry.figures import figures_of
from remediator.telemetry.report import IncidentRecord
from starters.incidents import IncidentNotFound, Incidents
from workflows.support import search

AT_ONCE = 10


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def incident_records(incidents: Incidents, since: datetime,
                           service: str | None = None) -> list[IncidentRecord]:
    query = (f"WorkflowType = 'IncidentWorkflow' AND StartTime >= "
             f"{_quoted(since.isoformat().replace('+00:00', 'Z'))}")
    if service is not None:
        query += f" AND {search.SERVICE.name} = {_quoted(service)}"
    # A long incident's runs (continue-as-new) are listed once each: one record per id,
    # opened when its first run started.
    opened: dict[str, datetime] = {}
    async for wf in incidents.client.list_workflows(query):
        opened[wf.id] = min(wf.start_time, opened.get(wf.id, wf.start_time))
    listed = list(opened.items())
    gate = asyncio.Semaphore(AT_ONCE)

    async def record(incident_id: str, opened_at: datetime) -> IncidentRecord | None:
        async with gate:
            try:
                view = await incidents.view(incident_id)
            except IncidentNotFound:
                return None
        found = figures_of(opened_at, view.timeline, view.steps,
                           resolved=view.status == IncidentStatus.RESOLVED,
                           runbook=view.runbook, dry_run=view.dry_run)
        return IncidentRecord(id=view.id, service=view.service, severity=view.severity,
                              opened_at=opened_at, previous=view.previous, figures=found)

    found = await asyncio.gather(*(record(i, at) for i, at in listed))
    return [r for r in found if r is not None]
