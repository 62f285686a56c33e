"""What a command says when a part of the stack is not there: one line naming what is
unreachable and how to start it, instead of a traceback. Anything else is a bug and
keeps its traceback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import redis.exceptions
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from remediator.reachable import redis_target
from remediator.settings import Settings
from remediator.temporal import temporal_unreachable

# Exit status of a command that could not reach a part of the stack (1: refused or not
# found, 2: bad usage).
UNREACHABLE = 3
START_HINT = "start the stack with `remediator dev`"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what caused it, and the members of exception groups, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _http_target(exc: httpx.HTTPError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised before any request existed
        return "the webhook server"
    return f"the webhook server at {url.scheme}://{url.host}:{url.port or ''}".rstrip(":")


def explain(exc: BaseException, settings: Settings) -> str | None:
    """One line for a failure the user fixes by starting something, else None."""
    for cause in _chain(exc):
        if isinstance(cause, WorkflowUpdateRPCTimeoutOrCancelledError):
            return ("no worker answered in time: is a worker running? "
                    f"(`remediator worker`, or {START_HINT})")
        if isinstance(cause, RPCError) and cause.status in (RPCStatusCode.DEADLINE_EXCEEDED,
                                                             RPCStatusCode.CANCELLED):
            return (f"Temporal at {settings.temporal_address} or its workers did not answer in "
                    f"time: is a worker running? (`remediator worker`, or {START_HINT})")
        if temporal_unreachable(cause) and not isinstance(cause, ConnectionError | TimeoutError):
            return (f"cannot reach Temporal at {settings.temporal_address}: {START_HINT}, "
                    "or point TEMPORAL_ADDRESS at your Temporal server")
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return (f"cannot reach {_http_target(cause)}: {START_HINT} (or `remediator serve`), "
                    "or pass --url / set REMEDIATOR_HTTP_ADDR")
        if isinstance(cause, redis.exceptions.ConnectionError):
            return (f"cannot reach Redis at {redis_target(settings.redis_url)}: {START_HINT}, "
                    "or point REDIS_URL at your Redis")
    for cause in _chain(exc):
        if isinstance(cause, ConnectionError | TimeoutError):
            return f"a connection failed ({cause}): is the stack running? ({START_HINT})"
    return None
