"""Feature-flag mitigations: set a flag, remembering the old value; restore it if unchanged.

``FlagStore`` is the interface, with one implementation per back end, chosen by the
step's ``store`` param: ``RedisFlagStore`` (here) keeps flags in a Redis hash per
environment with a change log and a per-flag write counter. Every write is a Lua
script so that "already applied for this incident step?" and the write itself are
one atomic step: a retry after a crash finds the marker and writes nothing.
``SsmFlagStore`` (``activities.flag_stores``) keeps them in AWS SSM Parameter Store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

import redis.asyncio as aioredis
import structlog
from temporalio import activity

from activities.errors import NotAllowed, Rejected, refusals_non_retryable, validated
from remediator.chaos import CrashPoints
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult
from workflows.catalogue import SetFlagParams

log = structlog.get_logger()
MARKER_TTL_SECONDS = 30 * 24 * 3600

_SET = """
local done = redis.call('GET', KEYS[1])
if done then return {1, done} end
local old = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('RPUSH', KEYS[3], ARGV[3])
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
redis.call('SET', KEYS[4], '1', 'EX', tonumber(ARGV[6]))
return {'restored', ''}
"""


@dataclass(frozen=True)
class FlagChange:
    """The outcome of a set: the previous value (None if the flag did not exist)."""

    old: str | None
    existed: bool
    repeated: bool


class FlagStore(Protocol):
    """Where flags live. ``set_once`` writes at most once per ``key`` (incident:step) and
    returns what it replaced; ``restore_if_unchanged`` answers "restored", "done" (an
    earlier call did it) or "conflict" (with the value someone else set since)."""

    async def get(self, environment: str, flag: str) -> str | None: ...

    async def set_once(
        self, environment: str, flag: str, value: str, key: str, note: str
    ) -> FlagChange: ...

    async def restore_if_unchanged(
        self, environment: str, flag: str, expected: str, old: str | None, key: str, note: str
    ) -> tuple[str, str | None]: ...


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

    async def writes(self, environment: str, flag: str) -> int:
        value = await self._redis.hget(self.key(environment) + ":writes", flag)
        return int(value or 0)

    async def set_once(
        self, environment: str, flag: str, value: str, key: str, note: str
    ) -> FlagChange:
        base = self.key(environment)
        keys = [f"remediator:applied:{key}", base, base + ":log", base + ":writes"]
        entry = json.dumps({"flag": flag, "value": value, "by": key, "note": note})
        repeated, raw = await self._set(keys=keys, args=[flag, value, entry, MARKER_TTL_SECONDS])
        record = json.loads(raw)
        return FlagChange(old=record["old"], existed=bool(record["existed"]), repeated=bool(repeated))

    async def restore_if_unchanged(
        self, environment: str, flag: str, expected: str, old: str | None, key: str, note: str
    ) -> tuple[str, str | None]:
        base = self.key(environment)
        keys = [base, base + ":log", base + ":writes", f"remediator:undone:{key}"]
        entry = json.dumps({"flag": flag, "value": old, "by": key, "note": note})
        args = [flag, expected, old or "", "1" if old is not None else "0", entry]
        state, current = await self._restore(keys=keys, args=[*args, MARKER_TTL_SECONDS])
        state = state.decode() if isinstance(state, bytes) else state
        current = current.decode() if isinstance(current, bytes) else current
        return state, current or None


class FlagActivities:
    """``set_flag`` and its undo ``restore_flag``, scoped by a flag allow-list.

    ``stores`` maps a step's ``store`` param ("redis", "ssm") to its back end.
    """

    def __init__(
        self, stores: Mapping[str, FlagStore], allowlist: list[str], environment: str,
        crash: CrashPoints,
    ) -> None:
        self._stores = dict(stores)
        self._allowlist = allowlist
        self._environment = environment
        self._crash = crash

    def _check_allowed(self, flag: str) -> None:
        if not any(fnmatchcase(flag, pattern) for pattern in self._allowlist):
            raise NotAllowed(
                f"flag {flag!r} is not on the flag allow-list (REMEDIATOR_FLAG_ALLOWLIST)"
            ).to_application_error()

    def _store(self, name: str) -> FlagStore:
        if name not in self._stores:
            raise Rejected(f"flag store {name!r} is not configured on this worker "
                           f"(configured: {', '.join(sorted(self._stores))})")
        return self._stores[name]

    @activity.defn
    async def set_flag(self, req: MitigationRequest) -> MitigationResult:
        """Set a flag to an absolute value once per (incident, step); return the old value.

        Dry-run reads the current value and writes nothing. Refused (non-retryable) for a
        flag off the allow-list or an unconfigured store.
        """
        params = validated(SetFlagParams, req.params)
        env = params.environment or self._environment
        self._check_allowed(params.flag)
        where = f"{env} ({params.store})"
        with refusals_non_retryable():
            store = self._store(params.store)
            if req.dry_run:
                current = await store.get(env, params.flag)
                return MitigationResult(
                    step_id=req.step_id, action="feature_flag.set", applied=False, dry_run=True,
                    detail=f"would set flag {params.flag} in {where}: "
                           f"{current!r} → {params.value!r}",
                )
            key = req.key
            change = await store.set_once(env, params.flag, params.value, key, "mitigation")
        self._crash.reach("feature_flags.set_flag.after_write")
        log.info("mitigation.applied", action="feature_flag.set", flag=params.flag,
                 environment=env, store=params.store, old=change.old, new=params.value,
                 repeated=change.repeated)
        return MitigationResult(
            step_id=req.step_id, action="feature_flag.set", applied=True,
            detail=f"flag {params.flag} in {where}: {change.old!r} → {params.value!r}",
            undo={"flag": params.flag, "environment": env, "old": change.old,
                  "expected": params.value, "store": params.store},
        )

    @activity.defn
    async def restore_flag(self, req: UndoRequest) -> UndoResult:
        """Put the old value back, unless someone changed the flag since (then report it)."""
        flag, env = str(req.undo["flag"]), str(req.undo["environment"])
        self._check_allowed(flag)
        old = req.undo.get("old")
        with refusals_non_retryable():
            store = self._store(str(req.undo.get("store", "redis")))
            state, current = await store.restore_if_unchanged(
                env, flag, str(req.undo["expected"]), None if old is None else str(old),
                req.key, "undo",
            )
        if state == "conflict":
            detail = (f"flag {flag} was changed to {current!r} since the mitigation; "
                      "left as is instead of clobbering it")
            log.warning("mitigation.undo_conflict", flag=flag, current=current)
            return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=detail)
        log.info("mitigation.undone", flag=flag, restored=old)
        return UndoResult(step_id=req.step_id, undone=True, detail=f"flag {flag} restored to {old!r}")
