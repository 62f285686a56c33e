"""A worker SIGKILLed right after signalling: the fresh worker signals nothing again,
touches no query that started since, and reports what the step did."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from remediator.settings import Settings
from tests.activities.common import mitigate_across_crash, new_case
from tests.activities.postgres.test_queries import older, params
from tests.support.postgres import PostgresServer, Sessions


async def test_worker_killed_after_cancel_acts_once(
    settings: Settings, client: Client, tmp_path: Path, db: Sessions, postgres: PostgresServer
) -> None:
    case = new_case()
    first, second = await db.sleep(case), await db.sleep(case)
    await older(postgres, first.pid, second.pid)

    async def meanwhile() -> None:  # no worker alive: a new long query starts
        assert await first.outcome() == "cancelled" and await second.outcome() == "cancelled"
        await db.sleep(case + " later")
        await older(postgres, db.sleepers[-1].pid)

    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "postgres.cancel_queries.after_signal", case,
        "postgres.cancel_queries", params(case), meanwhile)

    assert outcome.state == "applied", outcome.detail
    assert "cancelled 2 backend(s) on shop/shop" in outcome.detail
    assert f"pid {first.pid}" in outcome.detail and f"pid {second.pid}" in outcome.detail
    assert db.sleepers[-1].running  # the query that started since was left alone
