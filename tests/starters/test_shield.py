"""The storm shield against a real Redis: duplicates counted at the edge, passed on in
batches that come further apart the longer a storm lasts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis

from remediator.devstack.servers import RedisServer
from remediator.models.alert import Alert, AlertBatch, AlertStatus
from starters.shield import StormShield
from tests.support.polling import eventually
from workflows.alert_group_models import flush_interval


def _batch(status: AlertStatus = AlertStatus.FIRING) -> AlertBatch:
    alert = Alert(source="test", name="A", fingerprint="fp1", status=status,
                  received_at=datetime.now(UTC))
    return AlertBatch(group_key="g", alerts=[alert])


def test_batches_come_further_apart_as_a_storm_goes_on() -> None:
    intervals = [flush_interval(2.0, n) for n in (1, 30, 300, 3000)]
    assert intervals == sorted(intervals) and intervals[1] == 4.0
    elapsed, flushes = 0.0, 0
    while elapsed < 7 * 86_400:  # a week-long storm
        flushes += 1
        elapsed += flush_interval(2.0, flushes)
    assert flushes < 5_000, "far below Temporal's 10,000 signals per execution"


async def test_duplicates_are_counted_and_passed_on_only_when_due(
    redis_server: RedisServer,
) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    shield = StormShield(client)
    group, incident = f"group-{uuid.uuid4().hex}", f"INC-2099-{uuid.uuid4().int % 10**6:06d}"
    told: list[tuple[str, int]] = []

    async def signal(incident_id: str, count: int) -> bool:
        told.append((incident_id, count))
        return True

    try:
        assert await shield.admit(group, _batch()) is None, "unknown group: goes to Temporal"
        await shield.remember(group, _batch(), incident)
        assert await shield.admit(group, _batch(AlertStatus.RESOLVED)) is None, "a change"
        for _ in range(5):
            assert await shield.admit(group, _batch()) == incident
        assert await shield.flush(signal, base_seconds=0.5) == 1
        assert told == [(incident, 5)]
        for _ in range(3):
            await shield.admit(group, _batch())
        assert await shield.flush(signal, base_seconds=0.5) == 0, "the next batch is not due"

        async def passed_on() -> bool:
            await shield.flush(signal, base_seconds=0.5)
            return len(told) == 2

        await eventually(passed_on, timeout=10, what="the second batch")
        assert told[1] == (incident, 3), "nothing lost while waiting"
    finally:
        await client.aclose()
