"""Fixtures for the mitigation activities: allow-lists for the tests, AWS in moto.

Servers are the session's real ones (tests/conftest.py) plus a ``moto_server``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remediator.devstack.servers import RedisServer, free_port
from remediator.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The session's settings, plus what these tests may touch (the worker sees it too)."""
    return settings.model_copy(update={
        "cache_allowlist": ["cachetest:*", "db:5", "db:6"],
        "asg_allowlist": ["test-asg-*"],
        "asg_max_capacity": 8,
        "lambda_allowlist": ["test-fn-*"],
        "sticky_timeout_seconds": 1.0,
    })


@pytest.fixture
def other_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A second Redis server: a cache that is not where the remediator keeps its state."""
    server = RedisServer(tmp_path / "cache-redis", port=free_port())
    server.start()
    yield server
    server.stop()
