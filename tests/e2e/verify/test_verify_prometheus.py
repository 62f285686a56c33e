"""Verification through Prometheus: baseline before mitigating, a window of checks,
all-clear on recovery, saga undo and escalation (then fallback or humans) without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from tests.e2e.verify.helpers import INTERVAL, WINDOW, Incident, app, flag, healthy_history, to_exporter
from tests.support.polling import eventually
from tests.support.prometheus import MetricsExporter, PrometheusServer
from tests.support.receivers import WebhookReceiver
from workers.main import running_worker
from workflows.incident import IncidentWorkflow
from workflows.incident_models import Resolution

T = TypeVar("T")


async def test_error_rate_back_to_baseline_passes_after_the_window(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
    prometheus: PrometheusServer, exporter: MetricsExporter, slack: WebhookReceiver,
) -> None:
    incident = Incident(client, settings, "TestErrorRateHigh")
    broke_at = await healthy_history(prometheus, exporter, incident.case)
    publish = to_exporter(exporter, incident.case)
    async with running_worker(client, settings), \
            app(publish, redis_client, fixed_by=f"test-{incident.case}"):
        await incident.open(starts_at=broke_at)
        view = await incident.done()

    assert view.status == "resolved" and view.severity == "P2"
    assert [s.state for s in view.steps] == ["applied"]
    kinds = [e.kind for e in view.timeline]
    assert kinds.index("baseline.captured") < kinds.index("mitigation.started")
    error_rate = next(e.detail for e in view.timeline if e.kind == "baseline.captured")
    assert "baseline mean 0.01 " in error_rate and "now 0.5" in error_rate
    assert view.verdict is not None and view.verdict.passed
    assert view.verdict.window_started_at and view.verdict.window_ended_at
    window = (view.verdict.window_ended_at - view.verdict.window_started_at).total_seconds()
    assert WINDOW <= window <= WINDOW + 2 * INTERVAL + 1.0  # + the closing check's latency
    assert "notification.resolution" in kinds and kinds.index("verify.passed") < kinds.index(
        "notification.resolution")
    all_clear = await eventually(
        lambda: _async([p for p in slack.of_kind("resolution")
                        if p.body["incident_id"] == incident.id]), timeout=20, what="all-clear")
    assert all_clear[0].body["text"].startswith("INCIDENT RESOLVED: P2")
    assert "verification passed" in all_clear[0].body["text"]


async def test_still_broken_undoes_the_mitigation_and_escalates_to_humans(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
    prometheus: PrometheusServer, exporter: MetricsExporter,
) -> None:
    incident = Incident(client, settings, "TestErrorRateHigh")
    await redis_client.hset("remediator:flags:production", f"test-{incident.case}", "on")
    broke_at = await healthy_history(prometheus, exporter, incident.case)
    async with running_worker(client, settings), \
            app(to_exporter(exporter, incident.case), redis_client, fixed_by=None):
        await incident.open(starts_at=broke_at)
        escalated = await incident.status("escalated")
        assert await flag(redis_client, f"test-{incident.case}") == "on"  # undone
        await incident.incidents.handle(incident.id).signal(
            IncidentWorkflow.resolve, Resolution(by="alice", reason="rolled back by hand"))
        view = await incident.done()

    assert escalated.severity == "P1"  # one level up from P2
    assert [s.state for s in view.steps] == ["undone"]
    assert view.verdict is not None and not view.verdict.passed
    assert "unhealthy at the end of the window" in view.verdict.detail
    kinds = [e.kind for e in view.timeline]
    assert {"verify.failed", "mitigation.undone", "severity.escalated"} <= set(kinds)
    # No all-clear while it was broken: the resolution notice follows the human's call.
    assert kinds.index("notification.resolution") > kinds.index("incident.resolved")
    resolved = next(e for e in view.timeline if e.kind == "incident.resolved")
    assert resolved.detail == "declared by alice: rolled back by hand"
    assert view.status == "resolved"


async def test_fallback_steps_are_tried_after_the_first_mitigation_is_undone(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
    prometheus: PrometheusServer, exporter: MetricsExporter,
) -> None:
    incident = Incident(client, settings, "TestErrorRateFallback")
    broke_at = await healthy_history(prometheus, exporter, incident.case)
    async with running_worker(client, settings), \
            app(to_exporter(exporter, incident.case), redis_client,
                fixed_by=f"test-{incident.case}"):
        await incident.open(starts_at=broke_at)
        view = await incident.done()

    assert view.status == "resolved" and view.severity == "P1"
    assert [(s.step_id, s.state) for s in view.steps] == [
        ("first-flag-off", "undone"), ("second-flag-off", "applied")]
    kinds = [e.kind for e in view.timeline]
    assert kinds.count("verify.window_started") == 2
    assert kinds.index("verify.failed") < kinds.index("mitigation.fallback") < kinds.index(
        "verify.passed")
    assert await flag(redis_client, f"test-{incident.case}") == "off"


async def test_empty_query_result_is_never_a_recovery(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    # No series for this case at all: no baseline, and every round reads nothing.
    incident = Incident(client, settings, "TestErrorRateHigh")
    async with running_worker(client, settings):
        await incident.open(starts_at=datetime.now(UTC) - timedelta(seconds=5))
        await incident.status("escalated")
        await incident.incidents.handle(incident.id).signal(
            IncidentWorkflow.resolve, Resolution(by="bob", reason="metrics were missing"))
        view = await incident.done()

    kinds = [e.kind for e in view.timeline]
    assert kinds.count("baseline.missing") == 2
    assert view.verdict is not None and not view.verdict.passed
    assert view.verdict.checks and not any(c.healthy for c in view.verdict.checks)
    assert all("no data: empty result" in c.observed for c in view.verdict.checks)
    assert [s.state for s in view.steps] == ["undone"]


async def _async(value: T) -> T:
    return value
