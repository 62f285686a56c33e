"""Incident numbers are allocated durably: unique across webhook servers, never reused,
gap-tolerant when a worker dies mid-allocation."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from remediator.devstack.servers import PythonProcess, TemporalDevServer, free_port
from remediator.models.incident_number import counter_id
from remediator.settings import Settings
from remediator.temporal import connect
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents, NotRouted, Opened
from tests.e2e.incidents.helpers import number, send
from tests.support.alerts import alertmanager_payload
from tests.support.env import settings_env
from tests.support.moto import MotoServer
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker

AM = "/v1/alerts/alertmanager"


def _serve(settings: Settings, logs: Path) -> PythonProcess:
    port = free_port()
    own = settings.model_copy(update={"http_addr": f"127.0.0.1:{port}"})
    return PythonProcess(f"serve-{port}", logs, ["starters.cli", "serve"], settings_env(own),
                         port=port)


@pytest.fixture
def two_servers(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    servers = [_serve(settings, tmp_path / "logs") for _ in range(2)]
    for server in servers:
        server.start()
    yield [f"http://127.0.0.1:{s.port}" for s in servers]
    for server in servers:
        server.stop()


async def test_two_webhook_servers_opening_at_once_never_share_a_number(
    settings: Settings, client: Client, worker: None, two_servers: list[str],
) -> None:
    """Distinct groups (no runbook: each goes to humans) posted to both servers at once;
    each group's repeat goes to the other server and joins the same incident."""
    groups = [alertmanager_payload("TestUnmatchedAlert", case=uuid.uuid4().hex[:8])
              for _ in range(24)]
    async with httpx.AsyncClient(timeout=60) as http:
        async def post(base: str, payload: dict[str, object]) -> dict[str, object]:
            resp = await http.post(base + AM, json=payload)
            assert resp.status_code == 202, resp.text
            entry: dict[str, object] = resp.json()["incidents"][0]
            return entry

        firsts = await asyncio.gather(*(post(two_servers[i % 2], g)
                                        for i, g in enumerate(groups)))
        repeats = await asyncio.gather(*(post(two_servers[(i + 1) % 2], g)
                                         for i, g in enumerate(groups)))
    assert all(f["created"] for f in firsts)
    assert [r["id"] for r in repeats] == [f["id"] for f in firsts]
    assert not any(r["created"] for r in repeats)
    numbers = [number(str(f["id"])) for f in firsts]
    assert len(set(numbers)) == len(groups), "no number twice"
    later = await send(Incidents(client, settings.task_queue),
                       alertmanager_payload("TestUnmatchedAlert", case="later"))
    assert number(later.id) > max(numbers), "numbers only increase"


async def _open_retrying(incidents: Incidents, payload: dict[str, object]) -> Opened:
    """As a webhook sender does: a 503 (not routed in time) is retried."""
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    for _ in range(6):
        try:
            return await incidents.open_or_join(batch)
        except NotRouted:
            continue
    raise AssertionError("never routed")


async def test_worker_killed_during_allocation_leaves_a_gap_never_a_duplicate(
    settings: Settings, client: Client, moto: MotoServer, tmp_path: Path,
) -> None:
    quick = settings.model_copy(update={"sticky_timeout_seconds": 1.0})
    incidents = Incidents(client, quick.task_queue)
    logs = tmp_path / "logs"
    with WorkerProcess(quick, logs):
        before = await send(incidents, alertmanager_payload("TestUnmatchedAlert", case="a"))
    crashing = WorkerProcess(quick, logs, crash_at="incident_number.allocated")
    crashing.start()
    opening = asyncio.create_task(_open_retrying(
        incidents, alertmanager_payload("TestUnmatchedAlert", case="b")))
    assert await asyncio.to_thread(crashing.wait_exit, 60) == -9  # SIGKILLed itself
    with WorkerProcess(quick, logs):
        crashed = await opening
        after = await send(incidents, alertmanager_payload("TestUnmatchedAlert", case="c"))
        view = await incidents.view(crashed.id)
    # Opened by this alert: by the retry, or by the first try whose answer the client
    # missed while the worker died (then the retry joins it and says created=False).
    assert crashed.created or crashed.id != before.id
    skipped = number(crashed.id) - number(before.id)
    assert skipped >= 2, "the number handed to the dead worker is never used again"
    assert number(after.id) > number(crashed.id)
    assert view.alerts == 1, "the incident got its alert"


async def test_a_reset_counter_never_hands_out_a_used_number(
    settings: Settings, client: Client, worker: None,
) -> None:
    """Should the year's counter be lost (terminated by hand, say), the alert group skips
    numbers whose incidents exist rather than reusing them (it may fill a gap)."""
    incidents = Incidents(client, settings.task_queue)
    first = await send(incidents, alertmanager_payload("TestUnmatchedAlert", case="r1"))
    counter = client.get_workflow_handle(counter_id(datetime.now(UTC).year))
    await counter.terminate(reason="test: counter lost")
    second = await send(incidents, alertmanager_payload("TestUnmatchedAlert", case="r2"))
    assert second.created and second.id != first.id

    async def runs_with_that_id() -> list[object] | None:
        found = [w async for w in client.list_workflows(f"WorkflowId = '{second.id}'")]
        return found or None  # visibility lags a moment behind the start

    runs = await eventually(runs_with_that_id, timeout=30, what="the incident in visibility")
    assert len(runs) == 1, "the number was free: no other incident ever had it"


async def test_temporal_server_killed_during_allocations_never_duplicates_a_number(
    settings: Settings, tmp_path: Path,
) -> None:
    """A burst of new groups while the Temporal server is SIGKILLed and restarted:
    senders retry what was refused; every group ends with one incident, and no number
    is shared."""
    server = TemporalDevServer(tmp_path / "own-temporal", port=free_port(), ui_port=None)
    server.start()
    try:
        own = settings.model_copy(update={"temporal_address": server.address})
        client = await connect(own)
        incidents = Incidents(client, own.task_queue)
        groups = [alertmanager_payload("TestUnmatchedAlert", case=f"k{i}") for i in range(16)]

        async def open_as_a_sender_would(payload: dict[str, object]) -> Opened:
            batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
            while True:
                try:
                    return await incidents.open_or_join(batch)
                except (RPCError, NotRouted):
                    await asyncio.sleep(0.5)  # Alertmanager's retry, shortened

        async with running_worker(client, own):
            burst = asyncio.gather(*(open_as_a_sender_would(g) for g in groups))
            await asyncio.sleep(0.3)  # let some allocations be in flight
            assert server.proc is not None
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            server.start()
            opened = await asyncio.wait_for(burst, timeout=120)
            again = [await open_as_a_sender_would(g) for g in groups]
        assert [o.id for o in again] == [o.id for o in opened], "one incident per group"
        numbers = [number(o.id) for o in opened]
        assert len(set(numbers)) == len(groups)
    finally:
        server.stop()
