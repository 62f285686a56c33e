"""postgres.cancel_queries / terminate_queries against a real PostgreSQL 15 with real
``pg_sleep`` queries from other sessions: selected by duration and filters, capped,
never the excluded backends, dry-run signals nothing, a retry acts only on what runs."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
import redis.asyncio as aioredis

from activities.postgres.queries import PostgresActivities
from remediator.models.mitigation import RiskLevel
from remediator.settings import Settings
from tests.activities.common import apply_req, new_case, refused, run
from tests.activities.postgres.conftest import RaisingCrash, pg_activities
from tests.support.polling import eventually
from tests.support.postgres import PASSWORD, PostgresServer, Sessions
from workflows.catalogue import lookup

MIN = 0.3


def params(case: str, **extra: Any) -> dict[str, Any]:
    """Only this test's sleepers (tagged with ``case`` in their SQL), older than ``MIN``."""
    return {"database": "shop", "min_duration_seconds": MIN, "query_pattern": case, **extra}


async def older(postgres: PostgresServer, *pids: int) -> None:
    """Wait until every one of ``pids`` has run its query for longer than ``MIN``."""
    async def probe() -> bool:
        async with await psycopg.AsyncConnection.connect(postgres.admin_dsn()) as conn:
            row = await (await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND state = 'active'"
                " AND query_start < clock_timestamp() - make_interval(secs => %s)",
                (list(pids), MIN))).fetchone()
        return row is not None and row[0] == len(pids)

    await eventually(probe, timeout=10, what=f"{pids} running > {MIN}s")


async def test_cancel_stops_the_long_query_and_keeps_the_session(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    long = await db.sleep(case)
    await older(postgres, long.pid)

    result = await run(pg.cancel_queries, apply_req(case, "cancel", params(case)))

    assert await long.outcome() == "cancelled"
    assert result.applied and result.undo is None
    assert f"cancelled 1 backend(s) on shop/shop: pid {long.pid} user app" in result.detail
    assert "cannot be undone" in result.detail and "pg_sleep" in result.detail
    row = await (await long.conn.execute("SELECT 1")).fetchone()  # the session lives on
    assert row == (1,)
    assert lookup("postgres.cancel_queries").undo is None


async def test_terminate_ends_the_session(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    long = await db.sleep(case)
    await older(postgres, long.pid)

    result = await run(pg.terminate_queries, apply_req(case, "kill", params(case)))

    assert await long.outcome() == "terminated"
    assert f"terminated 1 backend(s) on shop/shop: pid {long.pid}" in result.detail
    assert long.conn.closed or long.conn.broken
    assert lookup("postgres.terminate_queries").risk == RiskLevel.DANGEROUS
    assert lookup("postgres.cancel_queries").risk == RiskLevel.RISKY


@pytest.mark.parametrize(("filters", "hit"), [
    ({"user": "reporting"}, "reporting"),
    ({"application_name": "batch-job"}, "batch"),
    ({"query_pattern": "{case} slow"}, "slow"),
])
async def test_filters_select_only_matching_backends(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer,
    filters: dict[str, str], hit: str,
) -> None:
    case = new_case()
    sleepers = {
        "reporting": await db.sleep(f"{case} fast", user="reporting"),
        "batch": await db.sleep(f"{case} fast", app="batch-job"),
        "slow": await db.sleep(f"{case} slow"),
        "plain": await db.sleep(f"{case} fast"),
    }
    await older(postgres, *(s.pid for s in sleepers.values()))
    step = {**params(case), **{k: v.format(case=case) for k, v in filters.items()}}

    result = await run(pg.cancel_queries, apply_req(case, "filtered", step))

    assert await sleepers[hit].outcome() == "cancelled"
    assert "cancelled 1 backend(s)" in result.detail, result.detail
    assert all(s.running for name, s in sleepers.items() if name != hit)


async def test_duration_and_datname_filters(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    elsewhere = await db.sleep(case, dbname="analytics")
    fresh = await db.sleep(case)
    await older(postgres, elsewhere.pid)

    # The DSN's own database by default, and only queries older than the minimum.
    result = await run(pg.cancel_queries, apply_req(
        case, "dur", params(case, min_duration_seconds=3600)))
    assert "cancelled 0 backend(s)" in result.detail and fresh.running and elsewhere.running

    # Another database of the same server, when the allow-list has it.
    result = await run(pg.cancel_queries, apply_req(
        case, "other-db", {**params(case), "database": "reports"}))
    assert await elsewhere.outcome() == "cancelled" and fresh.running
    assert "on reports/analytics" in result.detail


async def test_cap_acts_on_the_oldest_max_count(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    first, second, third = [await db.sleep(case) for _ in range(3)]
    await older(postgres, first.pid, second.pid, third.pid)

    result = await run(pg.cancel_queries, apply_req(case, "cap", params(case, max_count=2)))

    assert [await first.outcome(), await second.outcome()] == ["cancelled", "cancelled"]
    assert third.running
    assert "cancelled 2 backend(s)" in result.detail and "(of 3 matching; max_count 2)" in result.detail


async def test_never_superuser_own_or_replication_backends(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    superuser = await db.sleep(case, superuser=True, user="postgres")
    ours = await db.sleep(case, app="remediator")  # another remediator worker's session
    replication = await _walsender_sleeping(postgres, case)
    target = await db.sleep(case)
    await older(postgres, superuser.pid, ours.pid, target.pid)

    result = await run(pg.terminate_queries, apply_req(case, "all", params(case, max_count=50)))

    assert await target.outcome() == "terminated"
    assert superuser.running and ours.running
    assert replication.get_result() is None  # still busy: untouched
    assert f"terminated 1 backend(s) on shop/shop: pid {target.pid}" in result.detail
    replication.finish()


class _Walsender:
    """A replication connection (backend_type walsender) running SQL over the simple
    query protocol, which walsenders accept since PostgreSQL 10."""

    def __init__(self, conn: psycopg.pq.abc.PGconn) -> None:
        self.conn = conn

    def get_result(self) -> object:
        self.conn.consume_input()
        return None if self.conn.is_busy() else self.conn.get_result()

    def finish(self) -> None:
        self.conn.finish()


async def _walsender_sleeping(postgres: PostgresServer, case: str) -> _Walsender:
    async with await psycopg.AsyncConnection.connect(postgres.admin_dsn(), autocommit=True) as a:
        await a.execute("DO $$ BEGIN CREATE ROLE replicator LOGIN REPLICATION PASSWORD "
                        f"'{PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    dsn = postgres.dsn("shop", "replicator") + "?replication=database&application_name=standby"
    conn = psycopg.pq.PGconn.connect(dsn.encode())
    assert conn.status == psycopg.pq.ConnStatus.OK, conn.error_message
    conn.send_query(f"SELECT pg_sleep(300) /* {case} */".encode())

    async def walsender_active() -> bool:
        async with await psycopg.AsyncConnection.connect(postgres.admin_dsn()) as a:
            row = await (await a.execute(
                "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'walsender' AND query ~ %s",
                (case,))).fetchone()
        return row is not None

    await eventually(walsender_active, timeout=10, what="a walsender running pg_sleep")
    return _Walsender(conn)


async def test_dry_run_lists_what_it_would_cancel_and_changes_nothing(
    pg: PostgresActivities, db: Sessions, postgres: PostgresServer, state: aioredis.Redis
) -> None:
    case = new_case()
    long = await db.sleep(case, user="reporting", app="nightly")
    await older(postgres, long.pid)

    result = await run(pg.cancel_queries, apply_req(case, "dry", params(case), dry_run=True))

    assert result.dry_run and not result.applied
    assert f"would cancel 1 backend(s) on shop/shop running longer than {MIN}s" in result.detail
    assert f"pid {long.pid} user reporting (nightly) running" in result.detail
    assert f"SELECT pg_sleep(300) /* {case} */" in result.detail
    assert long.running
    assert await state.exists(f"remediator:pg-queries:inc-{case}:dry") == 0


async def test_retry_after_crash_acts_only_on_what_still_runs(
    settings: Settings, state: aioredis.Redis, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    done_meanwhile, still = await db.sleep(case), await db.sleep(case)
    await older(postgres, done_meanwhile.pid, still.pid)
    crashing = pg_activities(settings, state, RaisingCrash("postgres.cancel_queries.chosen"))
    req = apply_req(case, "retry", params(case))
    with pytest.raises(RuntimeError):
        await run(crashing.cancel_queries, req)
    assert done_meanwhile.running and still.running  # chosen, recorded, not yet signalled

    # Meanwhile one chosen query ends on its own and a new one starts.
    done_meanwhile.conn.cancel()
    assert await done_meanwhile.outcome() == "cancelled"
    await db.sleep(case + " ")  # a new query: matches the filters, was not chosen
    newcomer = db.sleepers[-1]
    await older(postgres, newcomer.pid)

    result = await run(pg_activities(settings, state).cancel_queries, req)

    assert await still.outcome() == "cancelled"
    assert newcomer.running
    assert f"cancelled 1 backend(s) on shop/shop: pid {still.pid}" in result.detail
    assert "1 had already finished" in result.detail
    again = await run(pg_activities(settings, state).cancel_queries, req)
    assert again.detail == result.detail and newcomer.running


async def test_refusals_and_no_password_anywhere(
    pg: PostgresActivities, state: aioredis.Redis, settings: Settings
) -> None:
    case = new_case()
    await refused(pg.cancel_queries, apply_req(case, "a", {**params(case), "database": "nope"}),
                  "NotAllowed")
    error = await refused(pg.cancel_queries, apply_req(
        case, "b", {**params(case), "database": "elsewhere"}), "NotAllowed")
    assert "elsewhere/postgres" in str(error) and PASSWORD not in str(error)
    await refused(pg.cancel_queries, apply_req(case, "c", {"database": "shop"}), "InvalidParams")
    bad = pg_activities(settings.model_copy(update={"postgres_dsns": {
        "shop": type(settings.postgres_dsns["shop"])(
            settings.postgres_dsns["shop"].get_secret_value().replace(PASSWORD, "wrong"))}}),
        state)
    error = await refused(bad.cancel_queries, apply_req(case, "d", params(case)), "AuthFailed")
    assert PASSWORD not in str(error) and "wrong" not in str(error)
    assert PASSWORD not in repr(settings) and PASSWORD not in json.dumps(
        settings.model_dump(mode="json"), default=str)
