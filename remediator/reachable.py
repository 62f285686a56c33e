"""Wait for a dependency (Temporal, Redis) to become reachable, so start-up order does not matter.

A process started before its dependencies retries after 1 s, 2 s, 4 s … (capped), logs
each failed attempt with what is unreachable and when it tries next, and carries on
as soon as the dependency answers. Errors that are not about reachability (bad
credentials, a missing namespace) are raised at once: waiting would not fix them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import redis.exceptions
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

log = structlog.get_logger()

T = TypeVar("T")


async def until_reachable(
    dependency: str, target: str, attempt: Callable[[], Awaitable[T]], *,
    unreachable: Callable[[BaseException], bool], max_seconds: float, first_seconds: float = 1.0,
) -> T:
    """``attempt()``'s result once it succeeds; retries while it fails with an error that
    ``unreachable`` accepts, waiting ``first_seconds`` doubling up to ``max_seconds``.

    ``target`` names where the dependency is expected, for the log; it must not hold
    credentials.
    """

    def log_failure(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning("dependency.unreachable", dependency=dependency, target=target,
                    attempt=state.attempt_number, error=str(error),
                    retry_in_seconds=round(state.upcoming_sleep, 3))

    retrying = AsyncRetrying(
        retry=retry_if_exception(unreachable),
        wait=wait_exponential(multiplier=first_seconds, max=max_seconds),
        before_sleep=log_failure,
        reraise=True,
    )

    async def once() -> T:
        # A coroutine function: tenacity would not await what a plain lambda returns.
        return await attempt()

    result: T = await retrying(once)
    log.info("dependency.reachable", dependency=dependency, target=target,
             attempts=retrying.statistics.get("attempt_number", 1))
    return result


def redis_unreachable(exc: BaseException) -> bool:
    """Redis is down or not yet listening (not: refused our credentials)."""
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return False
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError
                      | OSError)


def redis_target(url: str) -> str:
    """``host:port/db`` of a Redis URL, without the password it may carry."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


async def redis_when_ready(client: aioredis.Redis, url: str, max_seconds: float) -> None:
    """Return once the Redis at ``url`` answers PING."""
    await until_reachable("redis", redis_target(url), client.ping,
                          unreachable=redis_unreachable, max_seconds=max_seconds)
