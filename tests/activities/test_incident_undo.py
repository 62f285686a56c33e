"""An incident whose runbook toggles a flag and flushes a cache, then fails verification:
the saga undoes both in reverse order — the flush says it cannot be undone, the flag
is restored."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.incidents import Incidents
from tests.activities.common import new_case
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually

FLAGS = "remediator:flags:production"


async def test_failed_verification_restores_the_flag_and_reports_the_flush_as_final(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis,
) -> None:
    case = new_case()
    await redis_client.hset(FLAGS, f"test-{case}", "on")
    await redis_client.mset({f"cachetest:{case}:{i}": "session" for i in range(25)})
    await redis_client.set(f"health:{case}", "failing")
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestFlagCacheAlert", case=case)
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{http_base}/v1/alerts/alertmanager", json=payload)
        assert resp.status_code == 202, resp.text
        incident_id = resp.json()["incidents"][0]["id"]

        async def escalated() -> bool:
            return (await incidents.view(incident_id)).status == "escalated"

        await eventually(escalated, timeout=60, what="hand-over after failed verification")
        resolved = alertmanager_payload("TestFlagCacheAlert", case=case, status="resolved",
                                        group_key=payload["groupKey"])
        await http.post(f"{http_base}/v1/alerts/alertmanager", json=resolved)

    view = await wait_done(incidents, incident_id, timeout=60)

    assert await redis_client.hget(FLAGS, f"test-{case}") == "on"  # restored
    assert not [k async for k in redis_client.scan_iter(match=f"cachetest:{case}:*")]
    steps = {s.step_id: s for s in view.steps}
    assert steps["flag-off"].state == "undone"
    flush = steps["flush-sessions"]
    assert flush.state == "applied" and "deleted 25 keys" in flush.detail
    assert "cannot be undone" in flush.detail and flush.undo is None
    undo_order = [e.detail.split(":")[0] for e in view.timeline
                  if e.phase == "verify" and e.kind.startswith("mitigation.")]
    assert undo_order == ["flush-sessions", "flag-off"]
