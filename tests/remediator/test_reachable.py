"""A dependency that is not there yet is waited for, with a log line per attempt."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis
import structlog

from remediator.devstack.servers import RedisServer, free_port
from remediator.reachable import redis_when_ready
from tests.support.polling import eventually


async def test_redis_started_later_is_waited_for(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", port=free_port())
    client = aioredis.Redis.from_url(server.url)
    try:
        with structlog.testing.capture_logs() as logs:
            waiting = asyncio.create_task(redis_when_ready(client, server.url, max_seconds=0.2))

            async def retried() -> bool:
                return sum(e["event"] == "dependency.unreachable" for e in logs) >= 2

            await eventually(retried, timeout=10, what="two logged attempts")
            assert not waiting.done()
            first = next(e for e in logs if e["event"] == "dependency.unreachable")
            assert first["dependency"] == "redis" and first["retry_in_seconds"] > 0
            server.start()
            await asyncio.wait_for(waiting, timeout=10)
        assert logs[-1]["event"] == "dependency.reachable"
    finally:
        await client.aclose()
        server.stop()


async def test_redis_url_password_is_not_logged(tmp_path: Path) -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    client = aioredis.Redis.from_url(url)
    try:
        with structlog.testing.capture_logs() as logs:
            waiting = asyncio.create_task(redis_when_ready(client, url, max_seconds=0.1))
            await eventually(lambda: _true(bool(logs)), timeout=10, what="a logged attempt")
            waiting.cancel()
        assert logs and all("s3cret" not in str(e) for e in logs)
    finally:
        await client.aclose()


async def _true(value: bool) -> bool:
    return value
