"""Progress records in the remediator's own Redis, keyed by ``incident_id:step_id``.

A mitigation whose side effect lives in another system (a cache server, AWS) cannot
write its "already done" marker atomically with the effect. It writes its intent
here first, updates it as it goes, and marks it done before returning; a retry
after a crash reads the record to learn what the earlier attempt did.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis.asyncio as aioredis

MARKER_TTL_SECONDS = 30 * 24 * 3600


class Markers:
    """JSON records under ``remediator:<kind>:<incident>:<step>``, kept for 30 days."""

    def __init__(self, client: aioredis.Redis, kind: str) -> None:
        self._redis = client
        self._kind = kind

    def _key(self, key: str) -> str:
        return f"remediator:{self._kind}:{key}"

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._key(key))
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        return record

    async def put(self, key: str, record: dict[str, Any]) -> None:
        await self._redis.set(self._key(key), json.dumps(record), ex=MARKER_TTL_SECONDS)


def step_tag(operation: str, key: str, limit: int) -> str:
    """A marker naming one incident step's write, short enough for a ``limit``-char field."""
    tag = f"remediator {operation} {key}"
    if len(tag) <= limit:
        return tag
    return f"remediator {operation} sha256:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
