"""An Alertmanager alert over HTTP becomes a five-phase incident with a postmortem."""

from __future__ import annotations

import uuid

import httpx
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually

FLAGS = "remediator:flags:production"


async def test_alert_runs_all_phases_and_leaves_postmortem(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    payload = alertmanager_payload("TestFlagAlert", case=case)
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{http_base}/v1/alerts/alertmanager", json=payload)
    assert resp.status_code == 202, resp.text
    [entry] = resp.json()["incidents"]
    assert entry["created"] is True

    view = await wait_done(Incidents(client, settings.task_queue), entry["id"])

    assert view.status == "resolved"
    assert view.severity == "P2"
    assert [s.state for s in view.steps] == ["applied"]
    assert await redis_client.hget(FLAGS, f"test-{case}") == "off"
    phases = {e.phase for e in view.timeline}
    assert {"detect", "triage", "mitigate", "verify", "postmortem"} <= phases
    assert view.postmortem is not None
    for heading in ("## Summary", "## Timeline (UTC)", "## Impact", "## Root Cause",
                    "## Five Whys", "## Action Items"):
        assert heading in view.postmortem
    for entry_ in view.timeline:
        if entry_.kind != "postmortem.written":
            assert entry_.kind in view.postmortem
    async with httpx.AsyncClient() as http:
        got = (await http.get(f"{http_base}/v1/incidents/{view.id}")).json()
    assert got["phase"] == "done" and got["status"] == "resolved"
    assert got["timeline"][0]["kind"] == "alert.firing"


async def test_failed_verification_undoes_the_flag_and_escalates(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.hset(FLAGS, f"test-{case}", "on")
    await redis_client.set(f"health:{case}", "failing")
    payload = alertmanager_payload("TestFlagAlert", case=case)
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{http_base}/v1/alerts/alertmanager", json=payload)
        incident_id = resp.json()["incidents"][0]["id"]
        incidents = Incidents(client, settings.task_queue)
        await eventually(lambda: _status_is(incidents, incident_id, "escalated"), timeout=60,
                         what="hand-over")
        assert await redis_client.hget(FLAGS, f"test-{case}") == "on"
        resolved = alertmanager_payload("TestFlagAlert", case=case, status="resolved",
                                        group_key=payload["groupKey"])
        resp = await http.post(f"{http_base}/v1/alerts/alertmanager", json=resolved)
        assert resp.json()["incidents"] == [{"id": incident_id, "created": False}]
    view = await wait_done(Incidents(client, settings.task_queue), incident_id)
    assert view.severity == "P1"  # escalated one level from P2
    assert [s.state for s in view.steps] == ["undone"]
    kinds = [e.kind for e in view.timeline]
    assert "verify.failed" in kinds and "severity.escalated" in kinds


async def _status_is(incidents: Incidents, incident_id: str, status: str) -> bool:
    return (await incidents.view(incident_id)).status == status
