"""Flapping, end to end: healthy, then unhealthy, then healthy again within one window is
not a recovery. The mitigation is undone and the incident escalated, even though the last
round was healthy."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from tests.e2e.verify.helpers import FLAGS, Incident
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.verify import VerifyWorkflow, WindowChange


async def _rounds(incident: Incident, kind: str, count: int) -> None:
    async def probe() -> bool:
        return [e.kind for e in (await incident.view()).timeline].count(kind) >= count

    await eventually(probe, timeout=60, what=f"{count} × {kind} in {incident.id}")


async def test_recovered_then_failed_then_recovered_is_flapping_and_undone(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    # A long window, ended by a human once the flap was seen: no timing races.
    settings = settings.model_copy(update={"verify_window_p2_p3_seconds": 600.0})
    incident = Incident(client, settings, "TestFlagAlert")
    health = f"health:{incident.case}"
    await redis_client.hset(FLAGS, f"test-{incident.case}", "on")
    await redis_client.set(health, "ok")
    async with running_worker(client, settings):
        await incident.open(starts_at=datetime.now(UTC))
        await _rounds(incident, "verify.healthy", 1)
        await redis_client.set(health, "failing")
        await _rounds(incident, "verify.unhealthy", 1)
        await redis_client.set(health, "ok")
        await _rounds(incident, "verify.healthy", 2)
        window = client.get_workflow_handle_for(VerifyWorkflow.run, f"{incident.id}/verify")
        await window.execute_update(VerifyWorkflow.adjust_window,
                                    WindowChange(by="bob", end_now=True, reason="seen enough"))
        view = await incident.status("escalated")
    assert view.verdict is not None and not view.verdict.passed
    assert view.verdict.detail == "flapping: recovered, then failed again within the window"
    assert [s.state for s in view.steps] == ["undone"]
    assert await redis_client.hget(FLAGS, f"test-{incident.case}") == "on"
    assert view.severity == "P1"
    kinds = [e.kind for e in view.timeline]
    assert kinds.index("verify.failed") < kinds.index("mitigation.undone")
