"""The storm shield's shared state in Redis, and the one activity that touches it.

Webhook servers answer exact duplicates (same alert, same status, group's incident
open) from Redis without touching Temporal; the counts reach the incident in batches.
Redis is a cache here: the alert group workflow is the truth, an entry expires after
a short TTL, and when an incident closes it ``forget``s its group's entry and marks
itself closed so that no late writer can bring the entry back.
"""

from __future__ import annotations

import redis.asyncio as aioredis
import structlog
from temporalio import activity

from remediator.models.contract import Contract

log = structlog.get_logger()

PREFIX = "remediator:shield"
PENDING = f"{PREFIX}:pending"  # incident ids with duplicates not yet passed on
ENTRY_TTL_SECONDS = 30
CLOSED_TTL_SECONDS = 3600
# How long an incident's batch count is kept: longer than any storm worth batching.
FLUSHES_TTL_SECONDS = 8 * 86_400


def route_key(group_workflow_id: str) -> str:
    """Hash: ``incident`` → open incident id; ``fp:<fingerprint>`` → last status."""
    return f"{PREFIX}:route:{group_workflow_id}"


def count_key(incident_id: str) -> str:
    return f"{PREFIX}:dups:{incident_id}"


def flushes_key(incident_id: str) -> str:
    """Batches passed to the incident so far (its storm's length, in flushes)."""
    return f"{PREFIX}:flushes:{incident_id}"


def quiet_key(incident_id: str) -> str:
    """Present while the incident's next batch is not due yet."""
    return f"{PREFIX}:quiet:{incident_id}"


def closed_key(incident_id: str) -> str:
    return f"{PREFIX}:closed:{incident_id}"


class ForgetRequest(Contract):
    group: str
    incident_id: str


class ShieldActivities:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    @activity.defn
    async def forget_open_incident(self, req: ForgetRequest) -> None:
        """The incident has closed: its group's next alert must reach Temporal (a
        recurrence opens a new incident), so drop the shield's entry for the group."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(closed_key(req.incident_id), 1, ex=CLOSED_TTL_SECONDS)
            pipe.delete(route_key(req.group))
            await pipe.execute()
        log.info("shield.forgotten", group=req.group, incident_id=req.incident_id)
