"""Activities that heartbeat their own progress (details a retry resumes from).

The worker heartbeats every activity with a heartbeat timeout on its own (no details);
one marked here is left alone, so its details are never overwritten by an empty beat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
MARK = "__remediator_heartbeats_itself__"


def heartbeats_itself(fn: F) -> F:
    setattr(fn, MARK, True)
    return fn


def does_heartbeat_itself(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, MARK, False))
