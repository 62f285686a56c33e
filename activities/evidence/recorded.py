"""The suspect rollout of each Deployment, as triage found it, kept for later steps: a
rollback with ``to_revision: before_suspect`` reads it (any worker: it is in Redis)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from activities.support.markers import Markers

SUSPECTS = "evidence-suspects"


def recorded_suspects(state: aioredis.Redis) -> Markers:
    """Per occurrence: ``{"ns/name": {"suspect", "suspect_revision", "before",
    "before_revision"}}``, ReplicaSets by name (revision numbers change on rollback)."""
    return Markers(state, SUSPECTS)


async def suspect_of(state: aioredis.Redis, occurrence: str, deployment: str
                     ) -> dict[str, Any] | None:
    found = await recorded_suspects(state).get(occurrence)
    entry = (found or {}).get(deployment)
    return entry if isinstance(entry, dict) else None
