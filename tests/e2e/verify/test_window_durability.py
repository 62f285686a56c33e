"""The verify window survives a SIGKILLed worker and a restarted Temporal server: it
ends at its original end time (within one check interval), neither cut nor restarted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.devstack.servers import TemporalDevServer, free_port
from remediator.settings import Settings
from remediator.temporal import connect
from tests.e2e.verify.helpers import FLAGS, Incident, app, healthy_history, to_exporter
from tests.support.incidents import WindowOpened
from tests.support.polling import eventually
from tests.support.prometheus import MetricsExporter, PrometheusServer
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker
from workflows.incident_models import IncidentView

WINDOW = 10.0
# Longer than a restarted server's or worker's hand-over of a task (sticky timeout 1 s).
INTERVAL = 2.0


def _long_window(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "verify_window_p2_p3_seconds": WINDOW, "verify_interval_seconds": INTERVAL})


async def _past(moment: datetime) -> bool:
    return datetime.now(UTC) >= moment


def _assert_on_schedule(view: IncidentView, opened: WindowOpened) -> None:
    assert view.status == "resolved"
    verdict = view.verdict
    assert verdict is not None and verdict.passed
    assert verdict.window_started_at == opened.at
    assert verdict.window_ended_at is not None
    elapsed = (verdict.window_ended_at - opened.at).total_seconds()
    # Cut short: < WINDOW. Restarted at the crash: ≥ 1.3 × WINDOW. (The end includes the
    # closing round's check, hence more than one interval of slack on a loaded machine.)
    assert WINDOW <= elapsed < WINDOW * 1.3, elapsed
    assert [e.kind for e in view.timeline].count("verify.window_started") == 1


async def test_worker_killed_mid_window_ends_on_the_original_schedule(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
    prometheus: PrometheusServer, exporter: MetricsExporter, tmp_path: Path,
) -> None:
    settings = _long_window(settings)
    incident = Incident(client, settings, "TestErrorRateHigh")
    broke_at = await healthy_history(prometheus, exporter, incident.case)
    async with app(to_exporter(exporter, incident.case), redis_client,
                   fixed_by=f"test-{incident.case}"):
        with WorkerProcess(settings, tmp_path) as first:
            await incident.open(starts_at=broke_at)
            opened = await incident.window_opened()
            await eventually(lambda: _past(opened.at + timedelta(seconds=WINDOW * 0.3)),
                             timeout=WINDOW, what="a third of the window")
            first.kill()
        with WorkerProcess(settings, tmp_path):
            view = await incident.done()
    _assert_on_schedule(view, opened)
    assert int(await redis_client.hget(FLAGS + ":writes", f"test-{incident.case}") or 0) == 1


async def test_temporal_restarted_mid_window_ends_on_the_original_schedule(
    settings: Settings, redis_client: aioredis.Redis, prometheus: PrometheusServer,
    exporter: MetricsExporter, tmp_path: Path,
) -> None:
    server = TemporalDevServer(tmp_path / "own-temporal", port=free_port(), ui_port=None)
    server.start()
    try:
        settings = _long_window(settings).model_copy(
            update={"temporal_address": server.address})
        client = await connect(settings)
        incident = Incident(client, settings, "TestErrorRateHigh")
        broke_at = await healthy_history(prometheus, exporter, incident.case)
        async with running_worker(client, settings), \
                app(to_exporter(exporter, incident.case), redis_client,
                    fixed_by=f"test-{incident.case}"):
            await incident.open(starts_at=broke_at)
            opened = await incident.window_opened()
            server.stop()
            server.start()
            view = await incident.done()
        _assert_on_schedule(view, opened)
    finally:
        server.stop()
