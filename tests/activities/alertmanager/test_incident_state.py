"""The incident's own alert state, read from a real incident (opened through the alert
intake, handed over since no runbook matches): its ``alerts_firing`` and
``alert_labels`` queries feed the still-firing check and the silence's defaults."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from activities.alertmanager.api import AlertmanagerApi
from activities.alertmanager.firing import AlertStateActivities, StillFiring, StillFiringRequest
from activities.alertmanager.incident import IncidentAlerts
from activities.alertmanager.silence import SilenceActivities
from activities.support.crash_points import CrashPoints
from remediator.models.alert import Alert
from remediator.models.mitigation import MitigationRequest, MitigationResult
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.activities.alertmanager.conftest import ALLOWLIST, case_name
from tests.activities.common import run
from tests.support.alertmanager import AlertmanagerServer, post_alert, silences
from tests.support.alerts import alertmanager_payload
from tests.support.polling import eventually
from workers.main import policy_from


async def open_incident(incidents: Incidents, payload: dict[str, Any]) -> tuple[str, list[Alert]]:
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    opened = await incidents.open_or_join(batch)
    return opened.id, batch.alerts


async def test_still_firing_follows_the_incidents_own_alert_state(
        settings: Settings, client: Client, worker: None, http: httpx.AsyncClient) -> None:
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload(case_name(), case=case_name("case"))
    incident_id, alerts = await open_incident(incidents, payload)
    check = AlertStateActivities(IncidentAlerts(client), AlertmanagerApi(http, None))
    # The caller's copy still says firing after the alert resolved: the incident decides.
    req = StillFiringRequest(incident_id=incident_id, alerts=alerts)

    firing: StillFiring = await run(check.alerts_still_firing, req)
    assert firing.act and firing.checked == ["incident"]
    assert firing.detail.startswith("incident: 1 alert(s) firing")

    await open_incident(incidents, {**payload, "status": "resolved", "alerts": [
        {**payload["alerts"][0], "status": "resolved"}]})

    async def resolved() -> StillFiring | None:
        answer: StillFiring = await run(check.alerts_still_firing, req)
        return answer if not answer.firing else None

    answer = await eventually(resolved, timeout=30, what="the incident to see the alert resolve")
    assert answer.checked == ["incident"] and "every alert resolved" in answer.detail


async def test_with_alertmanager_both_sources_are_asked(
        settings: Settings, client: Client, worker: None, http: httpx.AsyncClient,
        alertmanager: AlertmanagerServer) -> None:
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload(case_name(), case=case_name("case"))
    incident_id, alerts = await open_incident(incidents, payload)
    await post_alert(alertmanager.url, alerts[0].labels)
    check = AlertStateActivities(IncidentAlerts(client), AlertmanagerApi(http, alertmanager.url))
    req = StillFiringRequest(incident_id=incident_id, alerts=alerts)
    answer: StillFiring = await run(check.alerts_still_firing, req)
    assert answer.act and answer.checked == ["incident", "alertmanager"]
    await post_alert(alertmanager.url, alerts[0].labels, resolved=True)
    answer = await run(check.alerts_still_firing, req)
    assert not answer.firing and answer.checked == ["incident", "alertmanager"]


async def test_silence_defaults_to_the_incidents_labels_and_verify_window(
        settings: Settings, client: Client, worker: None, http: httpx.AsyncClient,
        alertmanager: AlertmanagerServer) -> None:
    incidents = Incidents(client, settings.task_queue)
    name, case = case_name(), case_name("case")
    incident_id, _ = await open_incident(incidents, alertmanager_payload(name, case=case))
    await eventually(lambda: _triaged(incidents, incident_id), timeout=30, what="triage")
    silencer = SilenceActivities(AlertmanagerApi(http, alertmanager.url), IncidentAlerts(client),
                                 policy_from(settings).timings, ALLOWLIST, CrashPoints(None))
    result: MitigationResult = await run(silencer.create_silence, MitigationRequest(
        incident_id=incident_id, step_id="quiet", params={}))
    [silence] = [s for s in await silences(alertmanager.url) if incident_id in s["comment"]]
    assert {m["name"]: m["value"] for m in silence["matchers"]} == {
        "alertname": name, "service": "checkout", "severity": "warning", "case": case}
    assert "(the P2 verify window)" in result.detail
    started = datetime.fromisoformat(silence["startsAt"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs((ends - started).total_seconds() - settings.verify_window_p2_p3_seconds) < 1


async def _triaged(incidents: Incidents, incident_id: str) -> bool:
    return (await incidents.view(incident_id)).severity is not None
