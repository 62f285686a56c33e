"""Alert storms: duplicates that change nothing cost the incident (almost) no history."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.devstack.servers import free_port
from remediator.models.approval import ApprovalRequest
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from starters.routes import route_of
from tests.conftest import ServerThread
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.moto import MotoServer
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess

AM = "/v1/alerts/alertmanager"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"approvers": ["alice"], "duplicate_flush_seconds": 2.0,
                                       "api_tokens": SecretStr("alice=tok-alice")})


async def _storm(base: str, payload: dict[str, Any], n: int, in_flight: int) -> list[str]:
    """``n`` POSTs of one payload, ``in_flight`` at a time; the incident ids answered."""
    gate = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        async def one() -> str:
            async with gate:
                resp = await http.post(AM, json=payload)
            assert resp.status_code == 202, resp.text
            [entry] = resp.json()["incidents"]
            assert entry["created"] is False
            return str(entry["id"])

        return await asyncio.gather(*(one() for _ in range(n)))


async def _events(client: Client, workflow_id: str) -> int:
    return len((await client.get_workflow_handle(workflow_id).fetch_history()).events)


async def _opened_and_waiting(base: str, incidents: Incidents, payload: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        first = (await http.post(AM, json=payload)).json()["incidents"][0]
    assert first["created"] is True

    async def waiting() -> bool:
        return bool(await incidents.pending(first["id"]))

    await eventually(waiting, timeout=60, what="the step waits for approval")
    return str(first["id"])


async def _counted(incidents: Incidents, incident_id: str, n: int) -> None:
    async def all_counted() -> bool:
        return (await incidents.view(incident_id)).duplicates == n

    await eventually(all_counted, timeout=30, what=f"{n} duplicates counted")


async def _approve_and_finish(incidents: Incidents, incident_id: str) -> None:
    [step] = await incidents.pending(incident_id)
    await incidents.decide(incident_id, sign(incident_id, ApprovalRequest(
        step=step.step_id, approver="alice", plan_hash=step.plan_hash, approve=True),
        "tok-alice", datetime.now(UTC)))
    view = await wait_done(incidents, incident_id)
    assert view.status == "resolved"


async def test_a_thousand_duplicates_cost_the_incident_a_few_events(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestApprovalAlert", case=case)
    incident_id = await _opened_and_waiting(http_base, incidents, payload)
    before = await _events(client, incident_id)

    started = time.monotonic()
    answered = await _storm(http_base, payload, n=1000, in_flight=100)
    print(f"1,000 duplicates in {time.monotonic() - started:.2f} s")

    assert set(answered) == {incident_id}, "every duplicate joins the one open incident"
    await _counted(incidents, incident_id, 1000)
    grown = await _events(client, incident_id) - before
    assert grown <= 40, f"1,000 duplicates added {grown} events to the incident"
    await _approve_and_finish(incidents, incident_id)


async def test_without_redis_duplicates_still_join_and_stay_out_of_the_incident(
    settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
) -> None:
    """Redis unreachable: every alert goes to Temporal (slower); the alert group still
    keeps the duplicates out of the incident's history, and each one is answered."""
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    no_redis = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestApprovalAlert", case=case)
    async with ServerThread(no_redis) as server:
        incident_id = await _opened_and_waiting(server.base, incidents, payload)
        before = await _events(client, incident_id)
        answered = await _storm(server.base, payload, n=150, in_flight=20)
        async with httpx.AsyncClient(base_url=server.base) as http:
            health = await http.get("/healthz")
    assert health.status_code == 503 and health.json()["unreachable"] == ["redis"]
    assert set(answered) == {incident_id}
    await _counted(incidents, incident_id, 150)
    grown = await _events(client, incident_id) - before
    assert grown <= 40, f"150 duplicates added {grown} events to the incident"
    await _approve_and_finish(incidents, incident_id)


async def test_worker_killed_mid_storm_loses_no_duplicate_count(
    settings: Settings, client: Client, moto: MotoServer, redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """Without Redis the alert group counts duplicates in its own (durable) state; a
    worker SIGKILLed in the middle of the storm and restarted counts each one once.
    A 503 (not routed in time) is retried, as Alertmanager does; such a retry may be
    counted twice if the first attempt got through meanwhile — never lost."""
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    quick = settings.model_copy(update={"sticky_timeout_seconds": 1.0})
    no_redis = quick.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    incidents = Incidents(client, quick.task_queue)
    payload = alertmanager_payload("TestApprovalAlert", case=case)
    retried = 0
    worker = WorkerProcess(quick, tmp_path / "logs")
    worker.start()
    try:
        async with ServerThread(no_redis) as server, httpx.AsyncClient(
                base_url=server.base, timeout=60) as http:
            incident_id = await _opened_and_waiting(server.base, incidents, payload)
            answered = 0

            async def one() -> None:
                nonlocal answered, retried
                while (resp := await http.post(AM, json=payload)).status_code == 503:
                    retried += 1
                assert resp.status_code == 202, resp.text
                assert resp.json()["incidents"][0]["id"] == incident_id
                answered += 1

            gate = asyncio.Semaphore(10)

            async def gated() -> None:
                async with gate:
                    await one()

            storm = asyncio.gather(*(gated() for _ in range(120)))
            await eventually(lambda: _true(answered >= 30), timeout=60, what="storm under way")
            worker.kill()
            worker = WorkerProcess(quick, tmp_path / "logs")
            worker.start()
            await storm
        await eventually(lambda: _at_least(incidents, incident_id, 120), timeout=60,
                         what="every duplicate counted")
        counted = (await incidents.view(incident_id)).duplicates
        assert 120 <= counted <= 120 + retried
        await _approve_and_finish(incidents, incident_id)
    finally:
        worker.kill()


async def _true(value: bool) -> bool:
    return value


async def _at_least(incidents: Incidents, incident_id: str, n: int) -> bool:
    return (await incidents.view(incident_id)).duplicates >= n


async def test_an_alert_group_continues_as_new_and_keeps_routing(
    settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
) -> None:
    """Every alert reaching the group (no Redis in front) costs its history a few events:
    it starts afresh every ``rollover_after`` alerts, carrying its open incident, the
    alerts it knows and the uncounted duplicates."""
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue, group_options={"rollover_after": 4})
    payload = alertmanager_payload("TestApprovalAlert", case=case)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    opened = await incidents.open_or_join(batch)
    for _ in range(13):
        again = await incidents.open_or_join(batch)
        assert (again.id, again.created) == (opened.id, False)
    group = route_of(batch).workflow_id
    first_run = (await client.get_workflow_handle(group).describe()).run_id

    async def continued() -> bool:
        return (await client.get_workflow_handle(group).describe()).run_id != first_run

    await eventually(continued, timeout=30, what="the group continued as new")
    history = await client.get_workflow_handle(group, run_id=first_run).fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert len(history.events) < 120
    await _counted(incidents, opened.id, 13)
    await _approve_and_finish(incidents, opened.id)
