"""PostgreSQL activities against the session's real cluster (``postgres``, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from activities.postgres.databases import PostgresDatabases
from activities.postgres.queries import PostgresActivities
from activities.support.crash_points import CrashPoints
from remediator.settings import Settings
from tests.support.postgres import PostgresServer, Sessions, sessions

ALLOWLIST = ["shop/*", "reports/analytics"]


@pytest.fixture
def settings(settings: Settings, postgres: PostgresServer) -> Settings:
    """Worker settings naming the test cluster's databases (worker processes get them too)."""
    return settings.model_copy(update={
        "postgres_dsns": {"shop": SecretStr(postgres.dsn("shop")),
                          "reports": SecretStr(postgres.dsn("analytics")),
                          "elsewhere": SecretStr(postgres.dsn("postgres"))},
        "postgres_allowlist": ALLOWLIST,
        "sticky_timeout_seconds": 1.0,
    })


class RaisingCrash(CrashPoints):
    """A crash point that fails the attempt in-process (the durability e2e test SIGKILLs)."""

    def reach(self, name: str) -> None:
        if self._armed == name:
            raise RuntimeError(f"crashed at {name}")


def pg_activities(settings: Settings, state: aioredis.Redis,
                  crash: CrashPoints | None = None) -> PostgresActivities:
    return PostgresActivities(PostgresDatabases(settings.postgres_dsns), state,
                              settings.postgres_allowlist, crash or CrashPoints(None))


@pytest.fixture
def pg(settings: Settings, state: aioredis.Redis) -> PostgresActivities:
    return pg_activities(settings, state)


@pytest.fixture
async def db(postgres: PostgresServer) -> AsyncIterator[Sessions]:
    async with sessions(postgres) as opened:
        yield opened
