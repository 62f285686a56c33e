"""Storm shielding at the edge: exact duplicates cost the incident no history event.

``admit`` answers a batch whose every alert has the status its group's open incident
already knows, from Redis, in one round trip, and counts it; anything else (a new
alert, firing ↔ resolved, an unknown group) goes on to Temporal, after which
``remember`` records what the incident now knows. ``flush_forever`` passes the counts
to the incidents in batches. Redis is a cache, never the truth: when it cannot be
reached the shield steps aside for a while and every alert goes to Temporal (slower,
still correct).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from activities.alert_shield import (
    ENTRY_TTL_SECONDS,
    FLUSHES_TTL_SECONDS,
    PENDING,
    closed_key,
    count_key,
    flushes_key,
    quiet_key,
    route_key,
)
from remediator.models.alert import AlertBatch
from workflows.alert_group_models import flush_interval

log = structlog.get_logger()

# KEYS[1] route hash, KEYS[2] pending set; ARGV: fingerprint, status, … pairs.
# Returns the incident id when every alert is a known duplicate (and counts them).
_ADMIT = """
local incident = redis.call('HGET', KEYS[1], 'incident')
if not incident then return false end
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], 'fp:' .. ARGV[i]) ~= ARGV[i + 1] then return false end
end
redis.call('INCRBY', KEYS[3] .. incident, #ARGV / 2)
redis.call('SADD', KEYS[2], incident)
return incident
"""

# KEYS[1] route hash, KEYS[2] the incident's closed marker; ARGV[1] incident, ARGV[2]
# TTL, then fingerprint, status pairs. A closed incident is never remembered again.
_REMEMBER = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'incident') ~= ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'incident', ARGV[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], 'fp:' .. ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] an incident's count: read and reset in one step (replicas flush concurrently).
_TAKE = "local n = redis.call('GET', KEYS[1]); redis.call('DEL', KEYS[1]); return n"

Signal = Callable[[str, int], Awaitable[bool]]


def _pairs(batch: AlertBatch) -> list[str]:
    return [v for a in batch.alerts for v in (a.fingerprint, str(a.status))]


class StormShield:
    def __init__(self, client: aioredis.Redis, entry_ttl: int = ENTRY_TTL_SECONDS,
                 backoff_seconds: float = 5.0) -> None:
        self._redis = client
        self._admit = client.register_script(_ADMIT)
        self._remember = client.register_script(_REMEMBER)
        self._take = client.register_script(_TAKE)
        self._ttl = entry_ttl
        self._backoff = backoff_seconds
        self._down_until = 0.0

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _step_aside(self, exc: Exception) -> None:
        if self._usable():
            log.warning("shield.redis_unreachable", error=str(exc),
                        retry_in_seconds=self._backoff)
        self._down_until = time.monotonic() + self._backoff

    async def admit(self, group: str, batch: AlertBatch) -> str | None:
        """The open incident's id if the batch is an exact duplicate (now counted)."""
        if not self._usable():
            return None
        try:
            found = await self._admit(keys=[route_key(group), PENDING, count_key("")],
                                      args=_pairs(batch))
        except (RedisError, OSError) as exc:
            self._step_aside(exc)
            return None
        return found.decode() if isinstance(found, bytes) else found

    async def remember(self, group: str, batch: AlertBatch, incident_id: str) -> None:
        """What the incident now knows, so the next exact duplicate stays at the edge."""
        if not self._usable():
            return
        try:
            await self._remember(keys=[route_key(group), closed_key(incident_id)],
                                 args=[incident_id, self._ttl, *_pairs(batch)])
        except (RedisError, OSError) as exc:
            self._step_aside(exc)

    async def flush(self, signal: Signal, base_seconds: float, batch: int = 100) -> int:
        """Pass counted duplicates on (one signal per incident whose next batch is due);
        returns incidents told. A count that could not be delivered is put back."""
        if not self._usable():
            return 0
        told = 0
        taken: list[bytes | str] = await self._redis.spop(PENDING, batch) or []  # type: ignore[assignment]
        for raw in taken:
            incident_id = raw.decode() if isinstance(raw, bytes) else raw
            if await self._redis.exists(quiet_key(incident_id)):
                await self._redis.sadd(PENDING, incident_id)  # not due yet: keep counting
                continue
            count = int(await self._take(keys=[count_key(incident_id)]) or 0)
            if count <= 0:
                continue
            try:
                delivered = await signal(incident_id, count)
            except Exception:
                await self._put_back(incident_id, count)
                raise
            told += delivered
            await self._quiet(incident_id, base_seconds)
        return told

    async def _quiet(self, incident_id: str, base_seconds: float) -> None:
        """The next batch waits longer the longer the storm has lasted (flush_interval)."""
        flushes = int(await self._redis.incr(flushes_key(incident_id)))
        await self._redis.expire(flushes_key(incident_id), FLUSHES_TTL_SECONDS)
        wait_ms = int(flush_interval(base_seconds, flushes) * 1000)
        await self._redis.set(quiet_key(incident_id), 1, px=max(wait_ms - 100, 1))

    async def _put_back(self, incident_id: str, count: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(count_key(incident_id), count)
            pipe.sadd(PENDING, incident_id)
            await pipe.execute()

    async def flush_forever(self, signal: Signal, every_seconds: float) -> None:
        """The flusher of one webhook server (replicas share the work through Redis)."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.flush(signal, every_seconds)
            except Exception as exc:  # Redis or Temporal away: the counts wait in Redis
                log.warning("shield.flush_failed", error=str(exc))

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

