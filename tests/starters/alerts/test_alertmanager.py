"""The real alert path: a Prometheus alerting rule fires, Alertmanager groups it and calls
the webhook (with its bearer token), and the incident runs to its postmortem."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.devstack.servers import free_port
from remediator.settings import Settings
from starters.incidents import Incidents
from tests.conftest import ServerThread
from tests.support.alertmanager import AlertmanagerServer, alertmanager_binary
from tests.support.polling import eventually
from tests.support.prometheus import MetricsExporter, PrometheusServer, prometheus_binary
from workers.main import running_worker
from workflows.incident_models import IncidentView

RULES = """groups:
  - name: remediator-tests
    rules:
      - alert: TestFlagAlert
        expr: app_error_ratio > 0.5
        labels: {severity: warning, service: checkout}
        annotations: {summary: "error ratio {{ $value }} for case {{ $labels.case }}"}
"""
TOKEN = "am-token"


@pytest.fixture
def exporter() -> Iterator[MetricsExporter]:
    with MetricsExporter() as exporter:
        yield exporter


@pytest.mark.skipif(not (prometheus_binary() and alertmanager_binary()),
                    reason="needs Debian's prometheus and prometheus-alertmanager (scripts/setup.sh)")
async def test_prometheus_rule_through_alertmanager_opens_and_feeds_an_incident(
    settings: Settings, client: Client, redis_client: aioredis.Redis, exporter: MetricsExporter,
    tmp_path: Path,
) -> None:
    secured = Settings.model_validate({**settings.model_dump(), "webhook_token": TOKEN})
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    async with ServerThread(secured) as web, running_worker(client, secured):
        am = AlertmanagerServer(alertmanager_binary() or "", tmp_path / "am", free_port(),
                                f"{web.base}/v1/alerts/alertmanager", TOKEN)
        prom = PrometheusServer(prometheus_binary() or "", tmp_path / "prom", free_port(),
                                [exporter.target], rules=RULES, alertmanager=am.address)
        am.start()
        prom.start()
        try:
            exporter.set("app_error_ratio", 0.9, case=case)
            incidents = Incidents(client, secured.task_queue)
            found = await eventually(lambda: _incident_for(client, secured, case), timeout=60,
                                     what="an incident opened through Alertmanager")
            view = await eventually(lambda: _done(incidents, found), timeout=60, what="done")
            assert view.status == "resolved" and view.severity == "P2"
            assert view.runbook == "test-flag"
            assert await redis_client.hget("remediator:flags:production", f"test-{case}") == "off"
            exporter.set("app_error_ratio", 0.0, case=case)
        finally:
            prom.stop()
            am.stop()
    first = next(e for e in view.timeline if e.kind == "alert.firing")
    assert f"'case': '{case}'" in first.detail and "'alertname': 'TestFlagAlert'" in first.detail


async def _incident_for(client: Client, settings: Settings, case: str) -> str | None:
    async for wf in client.list_workflows(
            f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'"):
        view = await Incidents(client, settings.task_queue).view(wf.id)
        if any(e.kind == "alert.firing" and case in e.detail for e in view.timeline):
            return wf.id
    return None


async def _done(incidents: Incidents, incident_id: str) -> IncidentView | None:
    view = await incidents.view(incident_id)
    return view if view.phase == "done" else None
