"""Idle latencies: one workflow or incident at a time on a quiet server.

Bare Temporal: client start → the workflow's one activity scheduled and started.
Remediator: alert POST → the incident's first mitigation activity scheduled and
started, and what each incident cost in history events (per execution).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
import redis.asyncio as aioredis
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.bare import BareWorkflow
from bench.history import (
    at,
    critical_path,
    event_kinds,
    events,
    first_mitigation,
    incident_cost,
)
from starters.alerts.alertmanager import parse_alertmanager
from starters.routes import route_of
from tests.support.alerts import alertmanager_payload


async def bare_idle(client: Client, queue: str, k: int) -> dict[str, float]:
    scheduled, started = [], []
    for i in range(k):
        sent = time.time()
        handle = await client.start_workflow(BareWorkflow.run, 1, id=f"{queue}-idle-{i}",
                                             task_queue=queue)
        await handle.result()
        history = await events(client, handle.id)
        kinds = {e.event_type: at(e) for e in reversed(history)}
        scheduled.append(kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] - sent)
        started.append(kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED] - sent)
    return {"start_to_activity_scheduled_ms": statistics.median(scheduled) * 1000,
            "start_to_activity_started_ms": statistics.median(started) * 1000}


async def pipeline_idle(client: Client, http: httpx.AsyncClient, base: str, redis_url: str,
                        k: int, show_kinds: bool = False
                        ) -> tuple[dict[str, float], list[dict[str, int]]]:
    """Median alert → first mitigation scheduled/started, and each incident's cost
    (with show_kinds, the first incident's events by type go to stderr)."""
    scheduled, started, costs = [], [], []
    for i in range(k):
        case = uuid.uuid4().hex[:8]
        await healthy(redis_url, case)
        body = alertmanager_payload("TestFlagAlert", case=case)
        sent = time.time()
        resp = await http.post(f"{base}/v1/alerts/alertmanager", json=body)
        incident_id = resp.json()["incidents"][0]["id"]
        await client.get_workflow_handle(incident_id).result()
        first_scheduled, first_started = await first_mitigation(client, incident_id)
        scheduled.append(first_scheduled - sent)
        started.append(first_started - sent)
        batch = parse_alertmanager(json.dumps(body).encode(), datetime.now(UTC), 10)
        group = route_of(batch).workflow_id
        costs.append(await incident_cost(client, incident_id, group))
        if i == 0 and show_kinds:
            print(json.dumps({"event_kinds": await event_kinds(client, incident_id, group)},
                             indent=1), file=sys.stderr, flush=True)
        if i == k - 1 and show_kinds:  # warm: where one incident's idle latency goes
            print("\n".join(await critical_path(client, incident_id, group, sent)),
                  file=sys.stderr, flush=True)
    return ({"alert_to_mitigation_scheduled_ms": statistics.median(scheduled) * 1000,
             "alert_to_mitigation_started_ms": statistics.median(started) * 1000}, costs)


async def healthy(redis_url: str, case: str) -> None:
    """The incident's verification will find its service healthy."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.set(f"health:{case}", "ok")
    finally:
        await client.aclose()


def mean_cost(costs: list[dict[str, int]]) -> dict[str, float]:
    return {key: round(statistics.mean(c[key] for c in costs), 1) for key in costs[0]}
