"""Dry run (shadow mode): an incident plans every step — even a risky one, without
waiting for approval — changes nothing, and goes to humans with the plans recorded.
Three ways in: an alert posted with ``?dry_run=true``, a runbook's ``dry_run: true``,
and the worker-wide ``REMEDIATOR_DRY_RUN``."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.incidents import Incidents
from tests.conftest import ServerThread
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.incident_models import IncidentView

FLAGS = "remediator:flags:production"
AM = "/v1/alerts/alertmanager"


async def _shadowed(http: httpx.AsyncClient, client: Client, settings: Settings,
                    redis_client: aioredis.Redis, alertname: str,
                    params: dict[str, str] | None = None) -> IncidentView:
    """Post the alert; once the incident is handed over, check nothing changed, resolve it."""
    case = uuid.uuid4().hex[:8]
    await redis_client.hset(FLAGS, f"test-{case}", "on")
    await redis_client.set(f"health:{case}", "failing")
    payload = alertmanager_payload(alertname, case=case)
    resp = await http.post(AM, json=payload, params=params)
    assert resp.status_code == 202, resp.text
    incident_id = resp.json()["incidents"][0]["id"]
    incidents = Incidents(client, settings.task_queue)

    async def handed_over() -> IncidentView | None:
        view = await incidents.view(incident_id)
        return view if view.status == "escalated" else None

    view = await eventually(handed_over, timeout=60, what="hand-over")
    assert await redis_client.hget(FLAGS, f"test-{case}") == "on"
    resolved = alertmanager_payload(alertname, case=case, status="resolved",
                                    group_key=payload["groupKey"])
    await http.post(AM, json=resolved)
    done = await wait_done(incidents, incident_id)
    assert done.dry_run and view.dry_run
    return done


def _assert_planned_only(view: IncidentView, step: str) -> None:
    assert [(s.step_id, s.state) for s in view.steps] == [(step, "dry_run")]
    assert view.steps[0].detail.startswith("would set flag test-")
    kinds = [e.kind for e in view.timeline]
    assert "mitigation.dry_run" in kinds and "incident.handed_over" in kinds
    assert "verify.window_started" not in kinds and "approval.requested" not in kinds
    handed = next(e for e in view.timeline if e.kind == "incident.handed_over")
    assert handed.detail.startswith("dry run: the plans above are what would have run")
    assert view.postmortem is not None and "dry_run" in view.postmortem


@pytest.mark.parametrize(("alertname", "step"), [("TestFlagAlert", "flip"),
                                                 ("TestApprovalAlert", "risky-flip")])
async def test_an_alert_posted_as_dry_run_plans_and_changes_nothing(
    alertname: str, step: str, settings: Settings, client: Client, worker: None,
    http_base: str, redis_client: aioredis.Redis,
) -> None:
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http:
        view = await _shadowed(http, client, settings, redis_client, alertname,
                               {"dry_run": "true"})
    _assert_planned_only(view, step)


async def test_a_shadow_runbook_and_a_shadow_worker_plan_and_change_nothing(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http:
        async with running_worker(client, settings):
            by_runbook = await _shadowed(http, client, settings, redis_client, "TestShadowAlert")
        shadow = settings.model_copy(update={"dry_run": True})
        async with running_worker(client, shadow):
            by_worker = await _shadowed(http, client, settings, redis_client, "TestFlagAlert")
    _assert_planned_only(by_runbook, "flip")
    _assert_planned_only(by_worker, "flip")


async def test_a_bad_dry_run_value_is_refused_and_starts_nothing(
    settings: Settings, client: Client,
) -> None:
    async with ServerThread(settings) as server, httpx.AsyncClient() as http:
        resp = await http.post(server.base + AM, json=alertmanager_payload(),
                               params={"dry_run": "maybe"})
    assert resp.status_code == 400 and "dry_run must be true or false" in resp.json()["error"]
    query = f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'"
    assert (await client.count_workflows(query)).count == 0
