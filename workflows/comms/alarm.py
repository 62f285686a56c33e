"""One durable timer for all of an incident's clocks: the nearest deadline's.

Each clock (severity ladder, paging, escalation matrix, the two update cadences) waits
for a condition or its own deadline. With a timer each, every incident started four and
cancelled four when it closed: eight history events and eight timer writes on the
server for deadlines that mostly never come. Here the clocks register their deadlines
and one timer runs for the nearest; it restarts only when the nearest changes (a new
nearer deadline, or the nearest one gone), so a closing incident cancels one timer
(since release-2026-12-n not even that: it completes moments after its clocks stop,
which drops the timer).

A clock's wait ends when its condition holds or the workflow's own clock reaches its
deadline — never on the timer's word alone, so a timer that fires early (see
``waits``) only wakes the alarm to sleep out the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow

from workflows.support.versions import patched

with workflow.unsafe.imports_passed_through():
    from workflows.support import ui

LEFT_TO_RUN = "clock-timer-left-to-run"


@dataclass(eq=False)
class _Deadline:
    at: datetime
    summary: Callable[[float], str]  # what it waits for, given the seconds left


class Alarm:
    """Waits with deadlines, sharing one timer (``until``, as ``waits.until``)."""

    def __init__(self) -> None:
        self._deadlines: list[_Deadline] = []
        self._ringing: asyncio.Task[None] | None = None
        self._set_for: datetime | None = None  # the running timer's deadline
        # Since release-2026-12-n a timer whose waits have all ended is left to run, not
        # cancelled: they end as the incident closes, and it completes moments later,
        # which drops the timer without the cancel's history event.
        self._left_to_run = False  # decided when the timer first runs

    async def until(self, condition: Callable[[], bool], seconds: float,
                    summary: Callable[[float], str]) -> bool:
        """True once ``condition`` holds; False once ``seconds`` have passed. ``summary``
        describes the wait from the seconds left, when the timer's text is written."""
        if condition():
            return True
        deadline = _Deadline(workflow.now() + timedelta(seconds=seconds), summary)
        self._deadlines.append(deadline)
        if self._ringing is None:
            self._ringing = asyncio.create_task(self._ring())
        try:
            await workflow.wait_condition(lambda: condition() or workflow.now() >= deadline.at)
        finally:
            self._deadlines.remove(deadline)
        return condition()

    def _nearest(self) -> _Deadline | None:
        return min(self._deadlines, key=lambda d: d.at, default=None)

    async def _ring(self) -> None:
        """The one timer: set for the nearest deadline, reset when that changes."""
        self._left_to_run = patched(LEFT_TO_RUN, since="release-2026-12-n")
        while True:
            await workflow.wait_condition(lambda: bool(self._deadlines))
            nearest = self._nearest()
            assert nearest is not None
            self._set_for = nearest.at
            left = (nearest.at - workflow.now()).total_seconds()
            if left > 0:
                # On timeout the waits past their deadline see it; the rest get a new timer.
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(self._moved, timeout=left,
                                                  timeout_summary=self._summary(nearest))
            else:  # due already: let its wait see it before the next round
                await workflow.wait_condition(self._moved)
            self._set_for = None

    def _moved(self) -> bool:
        nearest = self._nearest()
        if nearest is None and self._left_to_run:
            return False
        return (nearest.at if nearest else None) != self._set_for

    def _summary(self, nearest: _Deadline) -> str:
        """Every wait, nearest first, as of now: the UI shows all the timer stands for."""
        now = workflow.now()
        later = sorted((d for d in self._deadlines if d is not nearest), key=lambda d: d.at)
        return ui.line("; then ".join(d.summary((d.at - now).total_seconds())
                                      for d in [nearest, *later]))
