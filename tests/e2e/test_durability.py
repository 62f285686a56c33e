"""Durability: a SIGKILLed worker or a restarted Temporal server loses nothing and repeats
no mitigation; the verify window keeps its original end."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.devstack.servers import TemporalDevServer, free_port
from remediator.models.incident import TimelineEntry
from remediator.settings import Settings
from remediator.temporal import connect
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done, window_opened
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker
from workflows.incident_models import IncidentView

FLAGS = "remediator:flags:production"
WINDOW = 8.0


def _slow_verify(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "verify_window_p2_p3_seconds": WINDOW, "verify_interval_seconds": 1.0,
        "sticky_timeout_seconds": 1.0,
    })


async def _open(incidents: Incidents, case: str) -> str:
    payload = alertmanager_payload("TestFlagAlert", case=case)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    return (await incidents.open_or_join(batch)).id


async def _entry(incidents: Incidents, incident_id: str, kind: str) -> TimelineEntry:
    async def probe() -> TimelineEntry | None:
        view = await incidents.view(incident_id)
        return next((e for e in view.timeline if e.kind == kind), None)

    return await eventually(probe, timeout=60, what=f"{kind} in {incident_id}")


async def _done(incidents: Incidents, incident_id: str) -> IncidentView:
    return await wait_done(incidents, incident_id)


async def _writes(redis_client: aioredis.Redis, flag: str) -> int:
    return int(await redis_client.hget(FLAGS + ":writes", flag) or 0)


async def test_worker_killed_mid_verify_window_finishes_on_original_schedule(
    settings: Settings, client: Client, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    settings = _slow_verify(settings)
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue)
    with WorkerProcess(settings, tmp_path) as first:
        incident_id = await _open(incidents, case)
        opened = await window_opened(client, incident_id)
        halfway = opened.at + timedelta(seconds=WINDOW / 2)
        await eventually(lambda: _past(halfway), timeout=WINDOW, what="half the window")
        first.kill()
    with WorkerProcess(settings, tmp_path):
        view = await _done(incidents, incident_id)
    assert view.status == "resolved"
    assert view.verdict is not None and view.verdict.window_started_at == opened.at
    assert view.verdict.window_ended_at is not None
    elapsed = (view.verdict.window_ended_at - opened.at).total_seconds()
    # A window restarted at the kill would end ≥ WINDOW/2 + WINDOW after it opened.
    assert WINDOW <= elapsed < WINDOW * 1.5 - 0.5
    assert await _writes(redis_client, f"test-{case}") == 1
    assert [e.kind for e in view.timeline].count("verify.window_started") == 1


async def _past(moment: datetime) -> bool:
    return datetime.now(UTC) >= moment


async def test_worker_killed_right_after_flag_write_writes_once(
    settings: Settings, client: Client, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"sticky_timeout_seconds": 1.0})
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue)
    crashing = WorkerProcess(settings, tmp_path, crash_at="feature_flags.set_flag.after_write")
    with crashing:
        incident_id = await _open(incidents, case)
        assert crashing.wait_exit(timeout=60) == -9  # died by its own SIGKILL after the write
    assert await redis_client.hget(FLAGS, f"test-{case}") == "off"
    with WorkerProcess(settings, tmp_path):
        view = await _done(incidents, incident_id)
    assert [s.state for s in view.steps] == ["applied"]
    assert await _writes(redis_client, f"test-{case}") == 1
    log = await redis_client.lrange(FLAGS + ":log", 0, -1)
    assert sum(f"test-{case}" in entry for entry in log) == 1


async def test_temporal_server_restarted_mid_incident_completes(
    settings: Settings, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    server = TemporalDevServer(tmp_path / "own-temporal", port=free_port(), ui_port=None)
    server.start()
    try:
        settings = _slow_verify(settings).model_copy(update={"temporal_address": server.address})
        case = uuid.uuid4().hex[:8]
        await redis_client.set(f"health:{case}", "ok")
        client = await connect(settings)
        incidents = Incidents(client, settings.task_queue)
        async with running_worker(client, settings):
            incident_id = await _open(incidents, case)
            await window_opened(client, incident_id)
            server.stop()
            server.start()
            view = await _done(incidents, incident_id)
        assert view.status == "resolved"
        assert await _writes(redis_client, f"test-{case}") == 1
    finally:
        server.stop()
