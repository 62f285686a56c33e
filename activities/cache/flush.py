"""Cache flushes on Redis: keys by pattern (SCAN + UNLINK in batches), one logical
database (FLUSHDB), or — only for ``scope: all`` restating ``risk: dangerous``, with
``all`` on the allow-list — every database (FLUSHALL). ASYNC/UNLINK on Redis ≥ 4.

A flush cannot be undone: the result says so and the catalogue has no undo activity.

The cache may be another server than the remediator's Redis, so the effect and its
marker cannot be one atomic write. A pattern delete records its SCAN cursor and count
after every batch, so a retry resumes where a crashed attempt stopped (at worst
re-scanning one batch) and reports the recorded total. A FLUSHDB/FLUSHALL first
plants a sentinel key in the cache: a retry that finds its intent recorded but the
sentinel gone knows the flush happened and does not flush again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, Self

import redis.asyncio as aioredis
import redis.exceptions as rex
import structlog
from pydantic import Field, model_validator
from temporalio import activity

from activities.support.crash_points import CrashPoints
from activities.support.errors import (
    AuthFailed,
    NotAllowed,
    Rejected,
    refusals_non_retryable,
    validated,
)
from activities.support.markers import Markers
from activities.support.params import Params
from remediator.models.mitigation import MitigationRequest, MitigationResult, RiskLevel

log = structlog.get_logger()
NO_UNDO = "a cache flush cannot be undone (the cache refills from its source)"
OWN_PREFIX = "remediator:"


class CacheFlushParams(Params):
    """Delete the keys matching ``pattern`` (SCAN + UNLINK), or flush a whole database.

    ``scope: db`` is FLUSHDB of ``db`` (default: the database of the cache URL);
    ``scope: all`` is FLUSHALL and must restate ``risk: dangerous`` here, so that no
    runbook wipes every database of a server by accident. A flush cannot be undone.
    """

    scope: Literal["pattern", "db", "all"] = "pattern"
    pattern: str | None = Field(None, min_length=1, max_length=500)
    db: int | None = Field(None, ge=0)
    batch_size: int = Field(500, ge=1, le=10_000)
    risk: RiskLevel | None = None

    @model_validator(mode="after")
    def _scope_fits(self) -> Self:
        if self.scope == "pattern" and not self.pattern:
            raise ValueError("scope: pattern needs a pattern (e.g. 'session:*')")
        if self.scope != "pattern" and self.pattern:
            raise ValueError(f"scope: {self.scope} flushes whole databases; drop the pattern")
        if self.scope == "all" and self.risk != RiskLevel.DANGEROUS:
            raise ValueError("scope: all (FLUSHALL) must restate risk: dangerous in params")
        if self.scope == "all" and self.db is not None:
            raise ValueError("scope: all flushes every database; drop db")
        return self

    def minimum_risk(self) -> RiskLevel:
        return RiskLevel.DANGEROUS if self.scope == "all" else RiskLevel.LOW

    def target(self) -> str:
        db = "default" if self.db is None else str(self.db)
        return f"cache:{self.scope}" if self.scope == "all" else f"cache:{db}/{self.pattern or '*'}"


@dataclass(frozen=True)
class CacheScope:
    """The cache allow-list: ``db:N`` databases, ``all`` (FLUSHALL), key globs."""

    dbs: frozenset[int]
    flushall: bool
    globs: tuple[str, ...]

    @classmethod
    def parse(cls, entries: list[str]) -> CacheScope:
        dbs = {int(e[3:]) for e in entries if e.startswith("db:") and e[3:].isdigit()}
        globs = [e for e in entries if e != "all" and not (e.startswith("db:") and e[3:].isdigit())]
        return cls(frozenset(dbs), "all" in entries, tuple(globs))

    def covers(self, db: int, key_or_pattern: str) -> bool:
        """A whole allowed database, or a string inside an allowed glob."""
        return db in self.dbs or any(fnmatchcase(key_or_pattern, g) for g in self.globs)


def _text(key: bytes | str) -> str:
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else key


@contextmanager
def redis_errors() -> Iterator[None]:
    """Refusals by the cache server become ``MitigationRefused``; connection trouble
    (refused, timeout, loading, read-only replica during failover) stays retryable."""
    try:
        yield
    except rex.AuthenticationError as exc:
        raise AuthFailed(f"cache Redis refused the credentials: {exc}") from exc
    except rex.NoPermissionError as exc:
        raise AuthFailed(f"cache Redis ACL forbids this: {exc}") from exc
    except rex.ReadOnlyError:
        raise
    except rex.ResponseError as exc:
        raise Rejected(f"cache Redis refused the command: {exc}") from exc


class CacheActivities:
    """``flush_cache`` on the cache Redis; markers in the remediator's own Redis."""

    def __init__(self, cache: aioredis.Redis, state: aioredis.Redis, allowlist: list[str],
                 crash: CrashPoints) -> None:
        self._cache = cache
        self._state = state
        self._markers = Markers(state, "cache-flush")
        self._scope = CacheScope.parse(allowlist)
        self._crash = crash
        where = cache.connection_pool.connection_kwargs
        self._where = where.get("path") or f"{where.get('host')}:{where.get('port')}"
        self._default_db = int(where.get("db") or 0)

    def _same_server(self) -> bool:
        a = self._cache.connection_pool.connection_kwargs
        b = self._state.connection_pool.connection_kwargs
        return all(a.get(k) == b.get(k) for k in ("host", "port", "path"))

    def _own_db(self, db: int) -> bool:
        state_db = int(self._state.connection_pool.connection_kwargs.get("db") or 0)
        return self._same_server() and db == state_db

    def _check_allowed(self, params: CacheFlushParams, db: int) -> None:
        if params.scope == "all" and not self._scope.flushall:
            raise NotAllowed("FLUSHALL is not on the cache allow-list "
                             "(REMEDIATOR_CACHE_ALLOWLIST needs 'all')")
        if params.scope == "all" and self._same_server():
            raise NotAllowed("FLUSHALL would wipe the remediator's own state on this server")
        if params.scope == "db" and db not in self._scope.dbs:
            raise NotAllowed(f"FLUSHDB of db {db} is not on the cache allow-list "
                             f"(REMEDIATOR_CACHE_ALLOWLIST needs 'db:{db}')")
        if params.scope == "db" and self._own_db(db):
            raise NotAllowed(f"db {db} holds the remediator's own state; it is never flushed")
        if params.pattern is not None and not self._scope.covers(db, params.pattern):
            raise NotAllowed(f"pattern {params.pattern!r} in db {db} is not on the cache "
                             "allow-list (REMEDIATOR_CACHE_ALLOWLIST)")

    def _deletable(self, db: int, key: bytes | str) -> bool:
        name = _text(key)
        if self._own_db(db) and name.startswith(OWN_PREFIX):
            return False
        return self._scope.covers(db, name)

    @asynccontextmanager
    async def _database(self, db: int) -> AsyncIterator[aioredis.Redis]:
        if db == self._default_db:
            yield self._cache
            return
        pool = self._cache.connection_pool
        client = aioredis.Redis.from_pool(aioredis.ConnectionPool(
            connection_class=pool.connection_class, **{**pool.connection_kwargs, "db": db}))
        try:
            yield client
        finally:
            await client.aclose()

    @staticmethod
    async def _async_ok(cache: aioredis.Redis) -> bool:
        """UNLINK and FLUSH… ASYNC exist since Redis 4.0."""
        try:
            version = str((await cache.info("server"))["redis_version"])
        except rex.ResponseError:  # INFO renamed away (managed Redis): assume a modern server
            return True
        return int(version.split(".")[0]) >= 4

    @staticmethod
    async def _size(cache: aioredis.Redis, scope: str) -> int:
        if scope == "all":
            keyspace: dict[str, Any] = await cache.info("keyspace")
            return sum(int(v.get("keys", 0)) for v in keyspace.values() if isinstance(v, dict))
        return int(await cache.dbsize())

    @activity.defn
    async def flush_cache(self, req: MitigationRequest) -> MitigationResult:
        """Flush once per (incident, step) and report how many keys went; never undoable.

        Dry-run reports the keys it would delete and deletes nothing. Refused
        (non-retryable) outside the cache allow-list and on the remediator's own state.
        """
        params = validated(CacheFlushParams, req.params)
        db = self._default_db if params.db is None else params.db
        key = req.key
        with refusals_non_retryable(), redis_errors():
            self._check_allowed(params, db)
            async with self._database(db) as cache:
                if req.dry_run:
                    detail = await self._plan(cache, params, db)
                    return MitigationResult(step_id=req.step_id, action="cache.flush",
                                            applied=False, dry_run=True, detail=detail)
                record = await self._markers.get(key)
                repeated = record is not None and bool(record["complete"])
                if not repeated:
                    run = self._delete_matching if params.scope == "pattern" else self._flush
                    record = await run(cache, params, db, key, record)
        assert record is not None
        log.info("mitigation.applied", action="cache.flush", scope=params.scope, db=db,
                 deleted=record["deleted"], repeated=repeated)
        return MitigationResult(step_id=req.step_id, action="cache.flush", applied=True,
                                detail=f"{self._describe(record)}; {NO_UNDO}", undo=None)

    async def _delete_matching(self, cache: aioredis.Redis, params: CacheFlushParams, db: int,
                               key: str, record: dict[str, Any] | None) -> dict[str, Any]:
        """SCAN + UNLINK batch by batch, recording cursor and count after each batch."""
        assert params.pattern is not None
        record = record or {"scope": "pattern", "db": db, "pattern": params.pattern,
                            "cursor": 0, "deleted": 0, "skipped": 0, "complete": False}
        unlink = cache.unlink if await self._async_ok(cache) else cache.delete
        cursor = int(record["cursor"])
        while True:
            cursor, keys = await cache.scan(cursor=cursor, match=params.pattern,
                                            count=params.batch_size)
            doomed = [k for k in keys if self._deletable(db, k)]
            deleted = int(await unlink(*doomed)) if doomed else 0
            record.update(cursor=cursor, deleted=record["deleted"] + deleted,
                          skipped=record["skipped"] + len(keys) - len(doomed),
                          complete=cursor == 0)
            await self._markers.put(key, record)
            if cursor == 0:
                break
        self._crash.reach("redis_cache.flush_cache.after_write")
        return record

    async def _flush(self, cache: aioredis.Redis, params: CacheFlushParams, db: int, key: str,
                     record: dict[str, Any] | None) -> dict[str, Any]:
        """FLUSHDB/FLUSHALL at most once: the sentinel tells a retry whether it happened."""
        sentinel = f"{OWN_PREFIX}flush-sentinel:{key}"
        if record is None:
            size = await self._size(cache, params.scope) - int(await cache.exists(sentinel))
            # Sentinel before intent: an intent without a sentinel would read as "flushed".
            await cache.set(sentinel, "flush pending")
            record = {"scope": params.scope, "db": db, "deleted": size, "complete": False}
            await self._markers.put(key, record)
            flushed = False
        else:
            flushed = not await cache.exists(sentinel)
        if not flushed:
            asynchronous = await self._async_ok(cache)
            if params.scope == "all":
                await cache.flushall(asynchronous=asynchronous)
            else:
                await cache.flushdb(asynchronous=asynchronous)
        self._crash.reach("redis_cache.flush_cache.after_write")
        record["complete"] = True
        await self._markers.put(key, record)
        return record

    async def _plan(self, cache: aioredis.Redis, params: CacheFlushParams, db: int) -> str:
        """What ``flush_cache`` would do, read-only."""
        mode = "ASYNC" if await self._async_ok(cache) else "(blocking)"
        if params.scope == "all":
            return (f"would FLUSHALL {mode} on {self._where}: "
                    f"{await self._size(cache, 'all')} keys in every database; {NO_UNDO}")
        if params.scope == "db":
            return (f"would FLUSHDB {mode} db {db} on {self._where}: "
                    f"{await self._size(cache, 'db')} keys; {NO_UNDO}")
        assert params.pattern is not None
        matched: list[str] = []
        skipped = 0
        async for k in cache.scan_iter(match=params.pattern, count=params.batch_size):
            if self._deletable(db, k):
                matched.append(_text(k))
            else:
                skipped += 1
        sample = ", ".join(sorted(matched)[:5]) + (", …" if len(matched) > 5 else "")
        verb = "UNLINK" if mode == "ASYNC" else "DEL"
        extra = f"; {skipped} matching keys outside the allow-list kept" if skipped else ""
        return (f"would {verb} {len(matched)} keys matching {params.pattern!r} in db {db} on "
                f"{self._where} in batches of {params.batch_size} ({sample}){extra}; {NO_UNDO}")

    def _describe(self, record: dict[str, Any]) -> str:
        if record["scope"] == "pattern":
            kept = f", {record['skipped']} outside the allow-list kept" if record["skipped"] else ""
            return (f"deleted {record['deleted']} keys matching {record['pattern']!r} in db "
                    f"{record['db']} on {self._where}{kept}")
        what = "every database" if record["scope"] == "all" else f"db {record['db']}"
        return f"flushed {what} on {self._where}: deleted {record['deleted']} keys"
