"""Verification through CloudWatch GetMetricData (moto_server via AWS_ENDPOINT_URL)."""

from __future__ import annotations

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from tests.e2e.verify.helpers import Incident, app, cloudwatch_history, flag, to_cloudwatch
from tests.support.moto import MotoServer
from workers.main import running_worker
from workflows.incident import IncidentWorkflow
from workflows.incident_models import Resolution


async def test_cloudwatch_error_rate_back_to_baseline_passes(
    settings: Settings, client: Client, redis_client: aioredis.Redis, moto: MotoServer,
) -> None:
    incident = Incident(client, settings, "TestCloudWatchErrorRate")
    cloudwatch = moto.client("cloudwatch")
    broke_at = await cloudwatch_history(cloudwatch, incident.case)
    async with running_worker(client, settings), \
            app(to_cloudwatch(cloudwatch, incident.case), redis_client,
                fixed_by=f"test-{incident.case}"):
        await incident.open(starts_at=broke_at)
        view = await incident.done()

    assert view.status == "resolved"
    baseline = next(e.detail for e in view.timeline if e.kind == "baseline.captured")
    assert baseline.startswith(f"Remediator/Test/ErrorRate{{case={incident.case}}} Average")
    assert "baseline mean 0.01 " in baseline and "now 0.5" in baseline
    assert view.verdict is not None and view.verdict.passed
    assert [s.state for s in view.steps] == ["applied"]


async def test_cloudwatch_still_broken_undoes_and_escalates(
    settings: Settings, client: Client, redis_client: aioredis.Redis, moto: MotoServer,
) -> None:
    incident = Incident(client, settings, "TestCloudWatchErrorRate")
    cloudwatch = moto.client("cloudwatch")
    broke_at = await cloudwatch_history(cloudwatch, incident.case)
    async with running_worker(client, settings), \
            app(to_cloudwatch(cloudwatch, incident.case), redis_client, fixed_by=None):
        await incident.open(starts_at=broke_at)
        escalated = await incident.status("escalated")
        await incident.incidents.handle(incident.id).signal(
            IncidentWorkflow.resolve, Resolution(by="alice", reason="scaled up by hand"))
        view = await incident.done()

    assert escalated.severity == "P1"
    assert [s.state for s in view.steps] == ["undone"]
    assert await flag(redis_client, f"test-{incident.case}") is None  # restored: never set
    assert view.verdict is not None and not view.verdict.passed
    assert all(not c.healthy for c in view.verdict.checks)
    assert all("(≤ 0.02: 2 × baseline 0.01)" in c.observed for c in view.verdict.checks)
