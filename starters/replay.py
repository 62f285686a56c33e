"""The replay cache: which webhook deliveries were already accepted, shared by every
webhook server replica through Redis, each id remembered for a limited time.

A delivery is claimed before its alert is forwarded and released again when forwarding
fails (the sender retries the same delivery and must not be told "seen before").

When Redis cannot be reached the cache steps aside and accepts (logged): a repeated
delivery then reaches its alert group, which joins it to the incident already open
rather than opening a second one, and the storm shield counts it as a duplicate. Refusing
every delivery while Redis is away would drop real pages.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger()

PREFIX = "remediator:delivery:"


class ReplayCache:
    """Delivery ids seen in the last ``ttl_seconds``, per source (e.g. ``pagerduty``)."""

    def __init__(self, redis: aioredis.Redis, ttl_seconds: float) -> None:
        self._redis = redis
        self._ttl = max(1, int(ttl_seconds + 0.999))

    @staticmethod
    def _key(source: str, delivery: str) -> str:
        # Hashed: a delivery id is sender-chosen text; the key stays short and inert.
        return PREFIX + source + ":" + hashlib.sha256(delivery.encode()).hexdigest()[:32]

    async def claim(self, source: str, delivery: str) -> bool:
        """True the first time ``delivery`` is seen (now claimed), False for a replay.
        True as well when Redis is unreachable (logged; see the module's docstring)."""
        try:
            return bool(await self._redis.set(self._key(source, delivery), b"1", nx=True,
                                              ex=self._ttl))
        except (RedisError, OSError) as exc:
            log.warning("replay_cache.unreachable", source=source, error=type(exc).__name__,
                        outcome="accepted unchecked")
            return True

    async def release(self, source: str, delivery: str) -> None:
        """Forget a claim whose delivery was not acknowledged, so its retry is accepted."""
        try:
            await self._redis.delete(self._key(source, delivery))
        except (RedisError, OSError) as exc:
            log.warning("replay_cache.release_failed", source=source, error=type(exc).__name__)
