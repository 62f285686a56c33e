"""Waiting for a condition with a deadline that is kept.

Under load, the SDK's ``wait_condition(timeout=...)`` has been seen to raise its
``TimeoutError`` at an activation well before its timer fired (a 4 s severity-ladder
step escalating 0.3 s after it started, next to an activity completion; a 1.5 s status
update sent after 0.15 s). A deadline that passes early pages people early, raises a
severity early or gives up on an approval early, so a wait here ends on its timeout only
once the workflow's own clock has reached the deadline, and otherwise waits out the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

from workflows.support.versions import patched

ON_TIME = "deadlines-kept"
ON_TIME_RELEASE = "release-2026-12-c"


async def until(condition: Callable[[], bool], seconds: float, summary: str | None) -> bool:
    """True once ``condition`` holds; False once ``seconds`` have passed (the timer shows
    ``summary`` in the UI)."""
    deadline = workflow.now() + timedelta(seconds=seconds)
    while True:
        try:
            await workflow.wait_condition(condition, timeout=max(seconds, 0.001),
                                          timeout_summary=summary)
            return True
        except TimeoutError:
            pass
        seconds = (deadline - workflow.now()).total_seconds()
        # Executions recorded before this release acted on the early timeout: so do they.
        if seconds <= 0 or not patched(ON_TIME, since=ON_TIME_RELEASE):
            return False
