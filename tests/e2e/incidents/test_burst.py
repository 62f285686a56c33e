"""A burst of distinct incidents larger than the worker's workflow-task slots.

Every incident consults the guard through local activities, and a workflow task stays
open (holding its slot) while its local activities run. With the guard served from the
same slots, a burst that filled them all waited forever for a guard that could not run:
a burst of 200 alerts on the default 100 slots hung the worker. The guard now has a
worker of its own in the same process; this burst fills two slots and must still finish.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.models.guard import GUARD_TASK_QUEUE
from remediator.settings import Settings
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from workers.main import running_worker

FLAGS = "remediator:flags:production"
BURST = 8


async def test_a_burst_wider_than_the_task_slots_mitigates_every_incident(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    narrow = settings.model_copy(update={"worker_max_concurrent_workflow_tasks": 2})
    cases = [uuid.uuid4().hex[:8] for _ in range(BURST)]
    for case in cases:
        await redis_client.set(f"health:{case}", "ok")
    async with running_worker(client, narrow), httpx.AsyncClient(timeout=60) as http:
        answers = await asyncio.gather(*[
            http.post(f"{http_base}/v1/alerts/alertmanager",
                      json=alertmanager_payload("TestFlagAlert", case=case))
            for case in cases])
        assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
        incidents = Incidents(client, settings.task_queue)
        views = await asyncio.gather(*[
            wait_done(incidents, a.json()["incidents"][0]["id"], timeout=120) for a in answers])
    assert [v.status for v in views] == ["resolved"] * BURST
    assert [[s.state for s in v.steps] for v in views] == [["applied"]] * BURST
    for case in cases:
        assert await redis_client.hget(FLAGS, f"test-{case}") == "off"
    # The guard ran on its own queue, beside the incidents'.
    guard = await client.get_workflow_handle(settings.guard_workflow_id).describe()
    assert guard.task_queue == GUARD_TASK_QUEUE
