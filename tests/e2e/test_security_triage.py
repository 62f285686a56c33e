"""A security alert end to end: a P0 incident with security and legal paged (seed 02)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from temporalio.client import Client

from remediator.models.incident import TimelineEntry
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.polling import eventually
from workflows.incident_models import IncidentView


async def test_a_security_alert_opens_a_p0_incident_that_pages_security_and_legal(
    settings: Settings, client: Client, worker: None,
) -> None:
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("NoRunbookAlert", severity="info", security="true",
                                   case=uuid.uuid4().hex[:8])
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    incident_id = (await incidents.open_or_join(batch)).id

    async def assembled() -> IncidentView | None:
        view = await incidents.view(incident_id)
        # The triage child's timeline can arrive before the parent takes its severity.
        assembled = any(e.kind == "team.assembled" for e in view.timeline)
        return view if assembled and view.severity is not None else None

    view = await eventually(assembled, timeout=60, what="response team")
    assert view.severity == "P0"
    team = next(e.detail for e in view.timeline if e.kind == "team.assembled")
    assert team.endswith("security team, legal")
    paged = await eventually(lambda: _paged(incidents, incident_id), timeout=30,
                             what="security page")
    assert paged.detail.startswith("[P0] page security team, legal:")


async def _paged(incidents: Incidents, incident_id: str) -> TimelineEntry | None:
    view = await incidents.view(incident_id)
    return next((e for e in view.timeline if e.kind == "notification.page"
                 and "security team, legal" in e.detail), None)
