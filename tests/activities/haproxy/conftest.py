"""HAProxy activities against a real HAProxy (one per test: each test changes its servers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from activities.haproxy.runtime import HaproxyRuntime
from activities.haproxy.servers import HaproxyActivities
from activities.support.crash_points import CrashPoints
from tests.support.haproxy import HaproxyServer, haproxy_binary

ALLOWLIST = ["web/s1", "web/s2"]


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[HaproxyServer]:
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("haproxy not found: install the Debian package `haproxy` (scripts/setup.sh does)")
    server = HaproxyServer(binary, tmp_path / "haproxy")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lb(haproxy: HaproxyServer, state: aioredis.Redis) -> HaproxyActivities:
    return HaproxyActivities(HaproxyRuntime(str(haproxy.socket)), state, ALLOWLIST,
                             CrashPoints(None))
