"""Feature flags in the remediator's Redis: a hash per environment, with a change log
and a per-flag write counter.

The change log (``:log``, a list) keeps the newest ``LOG_ENTRIES`` writes, each
``{"flag", "value", "by", "note", "at"}``: ``by`` is the incident step that wrote it,
``at`` when (ISO 8601, UTC). The evidence bundle reads it for flips before an incident.

Every write is a Lua script so that "already applied for this incident step?" and the
write itself are one atomic step: a retry after a crash finds the marker and writes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis.asyncio as aioredis

from activities.feature_flags.store import FlagChange

MARKER_TTL_SECONDS = 30 * 24 * 3600
# The change log is capped: a flag flapping for weeks never grows Redis without bound.
LOG_ENTRIES = 1000

_SET = """
local done = redis.call('GET', KEYS[1])
if done then return {1, done} end
local old = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
local rec = cjson.encode({old = old or cjson.null, existed = old ~= false})
redis.call('SET', KEYS[1], rec, 'EX', tonumber(ARGV[4]))
return {0, rec}
"""

_RESTORE = """
if redis.call('EXISTS', KEYS[4]) == 1 then return {'done', ''} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then return {'conflict', cur or ''} end
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
else redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[7]), -1)
redis.call('SET', KEYS[4], '1', 'EX', tonumber(ARGV[6]))
return {'restored', ''}
"""



class RedisFlagStore:
    """Flags in ``remediator:flags:<env>`` (hash), with ``:log`` and ``:writes`` beside it."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._set = client.register_script(_SET)
        self._restore = client.register_script(_RESTORE)

    @staticmethod
    def key(environment: str) -> str:
        return f"remediator:flags:{environment}"

    async def get(self, environment: str, flag: str) -> str | None:
        value = await self._redis.hget(self.key(environment), flag)
        return value.decode() if isinstance(value, bytes) else value

    async def changes(self, environment: str) -> list[dict[str, object]]:
        """The change log of ``environment``, oldest first (at most ``LOG_ENTRIES``)."""
        raw = await self._redis.lrange(self.key(environment) + ":log", 0, -1)
        entries = []
        for item in raw:
            try:
                entries.append(json.loads(item))
            except ValueError:
                continue
        return [e for e in entries if isinstance(e, dict)]

    async def writes(self, environment: str, flag: str) -> int:
        value = await self._redis.hget(self.key(environment) + ":writes", flag)
        return int(value or 0)

    async def set_once(
        self, environment: str, flag: str, value: str, key: str, note: str
    ) -> FlagChange:
        base = self.key(environment)
        keys = [f"remediator:applied:{key}", base, base + ":log", base + ":writes"]
        entry = _entry(flag, value, key, note)
        repeated, raw = await self._set(keys=keys, args=[flag, value, entry, MARKER_TTL_SECONDS,
                                                         LOG_ENTRIES])
        record = json.loads(raw)
        return FlagChange(old=record["old"], existed=bool(record["existed"]), repeated=bool(repeated))

    async def restore_if_unchanged(
        self, environment: str, flag: str, expected: str, old: str | None, key: str, note: str
    ) -> tuple[str, str | None]:
        base = self.key(environment)
        keys = [base, base + ":log", base + ":writes", f"remediator:undone:{key}"]
        entry = _entry(flag, old, key, note)
        args = [flag, expected, old or "", "1" if old is not None else "0", entry]
        state, current = await self._restore(keys=keys,
                                             args=[*args, MARKER_TTL_SECONDS, LOG_ENTRIES])
        state = state.decode() if isinstance(state, bytes) else state
        current = current.decode() if isinstance(current, bytes) else current
        return state, current or None


def _entry(flag: str, value: str | None, key: str, note: str) -> str:
    return json.dumps({"flag": flag, "value": value, "by": key, "note": note,
                       "at": datetime.now(UTC).isoformat()})
