"""Humans declare incidents: ``remediator declare`` and ``POST /v1/incidents``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.client import Client

from remediator.settings import Settings
from starters.incidents import Incidents
from tests.e2e.incidents.helpers import FLAGS, number
from tests.support.env import settings_env
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workflows.incident_models import Resolution


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_tokens": SecretStr("alice=tok-alice,bob=tok-bob")})


async def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "starters.cli", *args], capture_output=True,
        text=True, env=settings_env(settings), timeout=60)


async def _count_incidents(client: Client, settings: Settings) -> int:
    query = f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'"
    return len([w async for w in client.list_workflows(query)])


async def test_declared_without_runbook_goes_to_humans_and_resolves(
    settings: Settings, client: Client, worker: None,
) -> None:
    declared = await cli(settings, "declare", "--title", "Checkout slow for EU users",
                         "--service", "checkout", "--severity", "P1", "--as", "alice",
                         "--label", "region=eu", "--json")
    assert declared.returncode == 0, declared.stderr
    incident_id = json.loads(declared.stdout)["id"]
    number(incident_id)
    incidents = Incidents(client, settings.task_queue)

    async def handed_over() -> bool:
        return (await incidents.view(incident_id)).status == "escalated"

    await eventually(handed_over, timeout=60, what="declared incident handed to humans")
    view = await incidents.view(incident_id)
    assert (view.severity, view.service, view.declared_by) == ("P1", "checkout", "alice")
    assert view.runbook is None
    kinds = [e.kind for e in view.timeline]
    assert kinds[0] == "incident.declared" and "by alice" in view.timeline[0].detail
    assert "role.assigned" in kinds and "notification.initial" in kinds
    await incidents.resolve(incident_id, Resolution(by="bob", reason="CDN config reverted"))
    done = await wait_done(incidents, incident_id)
    assert done.status == "resolved" and done.postmortem is not None
    assert "Checkout slow for EU users" in done.postmortem


async def test_declared_with_runbook_runs_its_steps_over_http(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    body = {"title": "Checkout errors after flag flip", "service": "checkout",
            "severity": "P2", "runbook": "test-flag", "labels": {"case": case}}
    async with httpx.AsyncClient(base_url=http_base) as http:
        resp = await http.post("/v1/incidents", json=body,
                               headers={"Authorization": "Bearer tok-bob"})
    assert resp.status_code == 201, resp.text
    incident_id = resp.json()["id"]
    view = await wait_done(Incidents(client, settings.task_queue), incident_id)
    assert view.declared_by == "bob" and view.runbook == "test-flag"
    assert [s.state for s in view.steps] == ["applied"]
    assert await redis_client.hget(FLAGS, f"test-{case}") == "off"


@pytest.mark.parametrize(("body", "token", "status", "says"), [
    ({"title": "x", "service": "checkout", "severity": "P1"}, None, 401, "token"),
    ({"title": "x", "service": "checkout", "severity": "P1"}, "tok-nobody", 401, "token"),
    ({"title": "x", "service": "checkout", "severity": "P9"}, "tok-alice", 400, "severity"),
    ({"service": "checkout", "severity": "P1"}, "tok-alice", 400, "title"),
    ({"title": "x", "service": "checkout", "severity": "P1", "runbook": "nope"}, "tok-alice",
     400, "no runbook 'nope'"),
    ({"title": "x", "service": "checkout", "severity": "P1", "runbook": "test-flag"},
     "tok-alice", 400, "case"),
    ({"title": "x", "service": "checkout", "severity": "P1", "by": "mallory"}, "tok-alice",
     400, "unknown field"),
    ({"title": "x" * 300, "service": "checkout", "severity": "P1"}, "tok-alice", 400, "title"),
    ([1, 2], "tok-alice", 400, "object"),
])
async def test_bad_declarations_are_refused_and_start_nothing(
    settings: Settings, client: Client, http_base: str, body: object, token: str | None,
    status: int, says: str,
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=http_base) as http:
        resp = await http.post("/v1/incidents", json=body, headers=headers)
    assert resp.status_code == status, resp.text
    assert says in resp.json()["error"]
    assert await _count_incidents(client, settings) == 0


async def test_cli_refuses_bad_declarations_with_the_reason(
    settings: Settings, client: Client,
) -> None:
    bad = await cli(settings, "declare", "--title", "x", "--service", "checkout",
                    "--severity", "P1", "--as", "alice", "--runbook", "test-flag")
    assert bad.returncode == 2 and "case" in bad.stderr
    label = await cli(settings, "declare", "--title", "x", "--service", "checkout",
                      "--severity", "P1", "--as", "alice", "--label", "novalue")
    assert label.returncode == 2 and "k=v" in label.stderr
    severity = await cli(settings, "declare", "--title", "x", "--service", "checkout",
                         "--severity", "P7", "--as", "alice")
    assert severity.returncode == 2
    assert await _count_incidents(client, settings) == 0


async def test_severity_is_changed_over_http_as_the_tokens_user(
    settings: Settings, client: Client, worker: None, http_base: str,
) -> None:
    """``POST /v1/incidents/{id}/severity``: the token's user changes it; no token, a bad
    level or an unknown incident is a 4xx with the reason and changes nothing."""
    incidents = Incidents(client, settings.task_queue)
    async with httpx.AsyncClient(base_url=http_base) as http:
        declared = await http.post("/v1/incidents", headers={"Authorization": "Bearer tok-bob"},
                                   json={"title": "Search slow", "service": "search",
                                         "severity": "P2"})
        incident_id = declared.json()["id"]

        async def handed_over() -> bool:
            return (await incidents.view(incident_id)).status == "escalated"

        await eventually(handed_over, timeout=60, what="declared incident handed to humans")
        url = f"/v1/incidents/{incident_id}/severity"
        alice = {"Authorization": "Bearer tok-alice"}
        refused = [
            (await http.post(url, json={"severity": "P1", "reason": "x"}), 401, "token"),
            (await http.post(url, json={"severity": "P9", "reason": "x"}, headers=alice), 400,
             "unknown severity"),
            (await http.post(url, json={"severity": "P1"}, headers=alice), 400, "reason"),
            (await http.post(url, json={"severity": "P1", "reason": "x", "by": "mallory"},
                             headers=alice), 400, "extra"),
            (await http.post("/v1/incidents/INC-2026-99999/severity", headers=alice,
                             json={"severity": "P1", "reason": "x"}), 404, "no incident"),
        ]
        for resp, status, says in refused:
            assert resp.status_code == status and says in resp.json()["error"], resp.text
        raised = await http.post(url, json={"severity": "sev-2", "reason": "EU checkout too"},
                                 headers=alice)
    assert raised.status_code == 202, raised.text
    assert raised.json() == {"id": incident_id, "severity": "P1", "by": "alice"}

    async def changes() -> list[str]:
        view = await incidents.view(incident_id)
        return [e.detail for e in view.timeline if e.kind == "severity.changed"]

    assert await eventually(changes, timeout=30, what="the change") == [
        "P2 → P1 by alice: EU checkout too"]
    await incidents.resolve(incident_id, Resolution(by="bob", reason="index rebuilt"))
    await wait_done(incidents, incident_id)
