"""cache.flush against real redis-servers: scoped, counted, once per step, never undoable."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError
from temporalio.client import Client

from activities.cache.flush import CacheActivities, CacheFlushParams
from activities.support.crash_points import CrashPoints
from remediator.devstack.servers import RedisServer, free_port
from remediator.settings import Settings
from tests.activities.common import apply_req, mitigate_across_crash, new_case, refused, run
from workflows.catalogue import lookup


def in_db(url: str, db: int) -> str:
    """The same server, another logical database (a URL's path wins over ``db=``)."""
    return f"{url.rsplit('/', 1)[0]}/{db}"


def deleted(detail: str) -> int:
    found = re.search(r"deleted (\d+) keys", detail)
    assert found, detail
    return int(found.group(1))


@pytest.fixture
def cache(settings: Settings, state: aioredis.Redis) -> CacheActivities:
    """Cache and remediator state on the same server, as in the default setup."""
    return CacheActivities(state, state, settings.cache_allowlist, CrashPoints(None))


@pytest.fixture
async def db5(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(in_db(settings.redis_url, 5), decode_responses=True)
    yield client
    await client.aclose()


async def seed(client: aioredis.Redis, prefix: str, n: int) -> None:
    await client.mset({f"{prefix}{i}": "v" for i in range(n)})


async def count(client: aioredis.Redis, pattern: str) -> int:
    return len([k async for k in client.scan_iter(match=pattern, count=1000)])


async def test_pattern_flush_unlinks_matching_keys_in_batches(
    cache: CacheActivities, redis_client: aioredis.Redis
) -> None:
    case = new_case()
    await seed(redis_client, f"cachetest:{case}:", 250)
    await redis_client.set(f"cachetest-other:{case}", "kept")
    params = {"pattern": f"cachetest:{case}:*", "batch_size": 40}

    result = await run(cache.flush_cache, apply_req(case, "flush", params))

    assert result.applied and deleted(result.detail) == 250
    assert result.undo is None and "cannot be undone" in result.detail
    assert await count(redis_client, f"cachetest:{case}:*") == 0
    assert await redis_client.get(f"cachetest-other:{case}") == "kept"
    assert lookup("cache.flush").undo_activity is None


async def test_dry_run_reports_the_keys_and_deletes_nothing(
    cache: CacheActivities, redis_client: aioredis.Redis
) -> None:
    case = new_case()
    await seed(redis_client, f"cachetest:{case}:", 12)
    req = apply_req(case, "flush", {"pattern": f"cachetest:{case}:*"}, dry_run=True)

    result = await run(cache.flush_cache, req)

    assert result.dry_run and not result.applied
    assert "would UNLINK 12 keys" in result.detail and f"cachetest:{case}:0" in result.detail
    assert await count(redis_client, f"cachetest:{case}:*") == 12


async def test_second_apply_returns_the_recorded_count_and_deletes_nothing_new(
    cache: CacheActivities, redis_client: aioredis.Redis
) -> None:
    case = new_case()
    await seed(redis_client, f"cachetest:{case}:", 30)
    req = apply_req(case, "flush", {"pattern": f"cachetest:{case}:*"})
    first = await run(cache.flush_cache, req)
    await redis_client.set(f"cachetest:{case}:refilled", "fresh")

    second = await run(cache.flush_cache, req)

    assert second == first and deleted(second.detail) == 30
    assert await redis_client.get(f"cachetest:{case}:refilled") == "fresh"


async def test_flushdb_empties_only_the_allowed_database(
    cache: CacheActivities, db5: aioredis.Redis, settings: Settings
) -> None:
    case = new_case()
    await db5.flushdb()
    await seed(db5, f"any:{case}:", 7)
    async with aioredis.Redis.from_url(in_db(settings.redis_url, 6)) as db6:
        await db6.set(f"kept:{case}", "1")
        result = await run(cache.flush_cache, apply_req(case, "flush", {"scope": "db", "db": 5}))
        assert await db6.get(f"kept:{case}") == b"1"
    assert deleted(result.detail) == 7 and "db 5" in result.detail
    assert await db5.dbsize() == 0


@pytest.mark.parametrize("params, why", [
    ({"pattern": "session:*"}, "pattern 'session:*'"),
    ({"pattern": "*"}, "pattern '*'"),
    ({"scope": "db", "db": 7}, "db:7"),
    ({"scope": "all", "risk": "dangerous"}, "FLUSHALL"),
])
async def test_outside_the_allow_list_is_refused(
    cache: CacheActivities, redis_client: aioredis.Redis, params: dict[str, object], why: str
) -> None:
    case = new_case()
    await redis_client.set(f"session:{case}", "kept")
    error = await refused(cache.flush_cache, apply_req(case, "flush", params), "NotAllowed")
    assert why in error.message
    assert await redis_client.get(f"session:{case}") == "kept"


async def test_the_remediators_own_database_is_never_flushed(
    settings: Settings, state: aioredis.Redis, redis_client: aioredis.Redis
) -> None:
    generous = CacheActivities(state, state, ["db:0", "all", "*"], CrashPoints(None))
    case = new_case()
    await redis_client.set(f"remediator:test:{case}", "mine")
    for params in ({"scope": "db", "db": 0}, {"scope": "all", "risk": "dangerous"}):
        await refused(generous.flush_cache, apply_req(case, "f", params), "NotAllowed")
    result = await run(generous.flush_cache, apply_req(case, "p", {"pattern": "remediator:*"}))
    assert result.applied
    assert await redis_client.get(f"remediator:test:{case}") == "mine"


def test_flushall_must_say_scope_all_and_risk_dangerous() -> None:
    with pytest.raises(ValidationError, match="risk: dangerous"):
        CacheFlushParams.model_validate({"scope": "all"})
    with pytest.raises(ValidationError, match="drop the pattern"):
        CacheFlushParams.model_validate({"scope": "db", "pattern": "x*"})
    assert CacheFlushParams.model_validate({"scope": "all", "risk": "dangerous"}).scope == "all"


async def test_invalid_params_are_refused_not_retried(cache: CacheActivities) -> None:
    await refused(cache.flush_cache, apply_req(new_case(), "f", {"scope": "all"}),
                  "InvalidParams")


async def test_flushall_on_a_separate_cache_server(
    other_redis: RedisServer, state: aioredis.Redis, redis_client: aioredis.Redis
) -> None:
    case = new_case()
    await redis_client.set(f"remediator-side:{case}", "untouched")
    async with aioredis.Redis.from_url(other_redis.url) as other:
        activities = CacheActivities(other, state, ["all"], CrashPoints(None))
        await seed(other, "a:", 3)
        async with aioredis.Redis.from_url(in_db(other_redis.url, 3)) as other3:
            await seed(other3, "b:", 4)
            params = {"scope": "all", "risk": "dangerous"}
            plan = await run(activities.flush_cache, apply_req(case, "all", params, dry_run=True))
            assert "would FLUSHALL ASYNC" in plan.detail and "7 keys" in plan.detail
            result = await run(activities.flush_cache, apply_req(case, "all", params))
            assert await other3.dbsize() == 0
        assert await other.dbsize() == 0
    assert deleted(result.detail) == 7 and "every database" in result.detail
    assert await redis_client.get(f"remediator-side:{case}") == "untouched"


async def test_unreachable_cache_is_retried_not_refused(
    settings: Settings, state: aioredis.Redis
) -> None:
    async with aioredis.Redis(host="127.0.0.1", port=free_port()) as nowhere:
        activities = CacheActivities(nowhere, state, settings.cache_allowlist, CrashPoints(None))
        with pytest.raises(aioredis.ConnectionError):
            await run(activities.flush_cache, apply_req(new_case(), "f", {"pattern": "cachetest:*"}))


async def test_worker_killed_after_pattern_delete_does_not_delete_again(
    settings: Settings, client: Client, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    case = new_case()
    await seed(redis_client, f"cachetest:{case}:", 60)

    async def refill() -> None:  # the cache refills while no worker is alive
        await redis_client.set(f"cachetest:{case}:refilled", "fresh")

    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "redis_cache.flush_cache.after_write", case, "cache.flush",
        {"pattern": f"cachetest:{case}:*", "batch_size": 25}, refill)

    assert outcome.state == "applied" and deleted(outcome.detail) == 60
    assert await redis_client.get(f"cachetest:{case}:refilled") == "fresh"


async def test_worker_killed_after_flushdb_does_not_flush_again(
    settings: Settings, client: Client, db5: aioredis.Redis, tmp_path: Path
) -> None:
    case = new_case()
    await db5.flushdb()
    await seed(db5, f"any:{case}:", 9)

    async def refill() -> None:
        assert await db5.dbsize() == 0  # the flush happened before the kill
        await db5.set(f"any:{case}:refilled", "fresh")

    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "redis_cache.flush_cache.after_write", case, "cache.flush",
        {"scope": "db", "db": 5}, refill)

    assert outcome.state == "applied" and deleted(outcome.detail) == 9
    assert await db5.get(f"any:{case}:refilled") == "fresh"
