"""A source that hangs for the whole evidence budget does not hold back a step that
needs nothing it finds (README "Evidence"): the flag is set while Prometheus has not
answered yet, and the evidence — with its line saying Prometheus did not answer in
time — reaches the timeline and the postmortem once the budget is spent."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from workers.main import running_worker

FLAGS = "remediator:flags:production"
RULE = "http://prometheus.local/graph?g0.expr=sum%28test_errors%29+%3E+1&g0.tab=1"
BUDGET = 8.0


@asynccontextmanager
async def hung_server() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a Prometheus stuck on a query)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_hung_source_does_not_hold_back_a_step_that_needs_no_evidence(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.hset(FLAGS, f"test-{case}", "on")
    await redis_client.set(f"health:{case}", "ok")
    payload = alertmanager_payload("TestFlagAlert", case=case)
    payload["alerts"][0]["generatorURL"] = RULE  # the alert's rule: a query for Prometheus
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    async with hung_server() as port:
        settings = settings.model_copy(update={
            "evidence_budget_seconds": BUDGET, "prometheus_url": f"http://127.0.0.1:{port}"})
        incidents = Incidents(client, settings.task_queue)
        async with running_worker(client, settings):
            incident_id = (await incidents.open_or_join(batch)).id
            done = await wait_done(incidents, incident_id)

    assert done.status == "resolved" and [s.state for s in done.steps] == ["applied"]
    assert await redis_client.hget(FLAGS, f"test-{case}") == "off"
    entries = {e.kind: e for e in done.timeline}
    applied, collected = entries["mitigation.applied"], entries["evidence.collected"]
    # The step went first, long before the budget ran out; the evidence came after it.
    opened = done.timeline[0].at
    assert (applied.at - opened).total_seconds() < BUDGET, done.timeline
    assert collected.at > applied.at and (collected.at - opened).total_seconds() >= BUDGET
    assert collected.phase == "triage"
    assert f"metrics: unavailable (no answer within the {BUDGET:g} s budget)" in collected.detail
    markdown = Path(settings.postmortem_dir / f"{incident_id}.md").read_text()
    assert "## Evidence" in markdown
