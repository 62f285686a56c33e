"""The incident's clocks (seed 02 and seed 04), each a durable loop beside the phases.

- severity ladder: a P2 unresolved for 4 h becomes P1, a P1 unresolved for 2 h P0;
- page again: the on-call engineer is paged until someone acknowledges;
- escalation matrix: 15 min engineering lead; SEV-1 also 30 min VP Eng, 1 h CTO, 2 h CEO;
- update cadence: a status update every 15 min (P0) … daily (P3); customers hourly (P0/P1).

Since release-2026-12-m an incident that becomes SEV-1 late is paged the SEV-1 rows of
the matrix already past (they count from its start, and used to be skipped for good),
and one that becomes customer-facing (P2 → P1) tells customers at once; between P1 and
P0 the customers' hour keeps running (it used to start again).
All waits are on Temporal timers (one for all the clocks since release-2026-12-g, see
``alarm``), so a crashed worker neither skips nor repeats a step.
Each clock keeps its next deadline in a ``ClockProgress``, so an incident that continues
as new resumes its clocks where they stood (a clock stops, without acting, when the
incident is ``closed`` — which includes the moment a run hands on to the next).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import Field

    from remediator.models.comms import CommsPolicy
    from remediator.models.contract import Contract
    from remediator.severity import TABLE, Severity, raise_one
    from workflows.support import ui
    from workflows.support.versions import patched

LATE_SEV1 = "clocks-catch-up-on-severity"
LATE_SEV1_RELEASE = "release-2026-12-m"
# Severities customers hear about (seed 02: "External Communication (SEV-1/2)").
PUBLIC = (Severity.P0, Severity.P1)


class Deadline(Contract):
    """When a clock acts next, and at which severity it started counting."""

    at: datetime
    level: Severity | None = None


class ClockProgress(Contract):
    """Where the incident's clocks stand: kept as they go, so that an incident that
    continues as new resumes them where they were instead of from zero.

    ``due`` holds each running clock's next deadline by clock name; ``matrix_done``
    counts the escalation matrix's entries already dealt with (paged or skipped)."""

    due: dict[str, Deadline] = Field(default_factory=dict)
    matrix_done: int = 0

    def remaining(self, clock: str, now: datetime, seconds: float,
                  level: Severity | None = None) -> float:
        """Seconds until ``clock`` is due; a clock with no deadline (or one counted at
        another severity) starts counting ``seconds`` from ``now``."""
        due = self.due.get(clock)
        if due is None or due.level != level:
            due = self.due[clock] = Deadline(at=now + timedelta(seconds=seconds), level=level)
        return (due.at - now).total_seconds()

    def passed(self, clock: str) -> None:
        """``clock`` acted: its next wait counts from then."""
        self.due.pop(clock, None)


class Watched(Protocol):
    """What the clocks need from the incident."""

    @property
    def severity(self) -> Severity: ...
    @property
    def closed(self) -> bool: ...
    @property
    def acknowledged(self) -> bool: ...
    @property
    def opened_at(self) -> datetime: ...
    def escalate(self, to: Severity, why: str) -> None: ...
    def page(self, who: str, why: str) -> None: ...
    def post_update(self, customers: bool) -> None: ...
    async def wait(self, condition: Callable[[], bool], seconds: float,
                   summary: Callable[[float], str]) -> bool: ...


async def _wait(inc: Watched, condition: Callable[[], bool], seconds: float,
                summary: Callable[[float], str]) -> bool:
    """True if ``condition`` became true, False once ``seconds`` have passed (the timer
    shows ``summary`` of the seconds left when it starts, in the UI)."""
    return await inc.wait(condition, seconds, lambda left: ui.line(summary(left)))


def _counting(before: str, after: str | None = None) -> Callable[[float], str]:
    """A wait's text from the seconds left: ``before`` + the time left + ``after`` (with
    no ``after``, ``before`` alone: a wait whose text names a fixed time)."""
    if after is None:
        return lambda _: before
    return lambda left: before + ui.span(left) + after


def _closed_or_changed(inc: Watched, level: Severity) -> Callable[[], bool]:
    return lambda: inc.closed or inc.severity != level


def _closed_or_private(inc: Watched) -> Callable[[], bool]:
    return lambda: inc.closed or inc.severity not in PUBLIC


async def severity_ladder(inc: Watched, policy: CommsPolicy, progress: ClockProgress) -> None:
    while not inc.closed:
        level = inc.severity
        after = policy.escalate_after_seconds.get(level)
        changed = _closed_or_changed(inc, level)
        if after is None:
            await workflow.wait_condition(changed)
            continue
        left = progress.remaining("ladder", workflow.now(), after, level)
        if not await _wait(inc, changed, left, _counting(
                f"severity {level} → {raise_one(level)} in ", " unless resolved")):
            progress.passed("ladder")
            inc.escalate(raise_one(level), f"unresolved for {after:g}s at {level}")


async def page_again(inc: Watched, policy: CommsPolicy, progress: ClockProgress) -> None:
    every = policy.page_again_seconds
    if "page" not in progress.due:  # no deadline yet: the incident was just declared
        inc.page(policy.oncall, "incident declared")
    while True:
        left = progress.remaining("page", workflow.now(), every)
        if await _wait(inc, lambda: inc.closed or inc.acknowledged, left,
                       _counting(f"page {policy.oncall} again in ", " unless acknowledged")):
            return
        progress.passed("page")
        inc.page(policy.oncall, f"not acknowledged after {every:g}s")


async def escalation_matrix(inc: Watched, policy: CommsPolicy, progress: ClockProgress) -> None:
    # Entries already dealt with in an earlier run are skipped: nobody is paged twice.
    for offset, who, sev1_only in sorted(policy.matrix)[progress.matrix_done:]:
        due = inc.opened_at + timedelta(seconds=offset)
        remaining = (due - workflow.now()).total_seconds()
        only = " (SEV-1 only)" if sev1_only else ""
        if remaining > 0 and await _wait(inc, lambda: inc.closed, remaining, _counting(
                f"page {who} at +{ui.span(offset)}{only}")):
            return
        if inc.closed:
            return
        if not sev1_only or inc.severity == Severity.P0:
            inc.page(who, f"escalation matrix: unresolved after {offset:g}s")
        elif patched(LATE_SEV1, since=LATE_SEV1_RELEASE):
            # The row counts from the incident's start: if it becomes SEV-1 later, still
            # unresolved, the row is due at once. No timer: the severity wakes it.
            await workflow.wait_condition(lambda: inc.closed or inc.severity == Severity.P0)
            if inc.closed:
                return
            # Whom the escalation to SEV-1 paged already (seed 04's P0 circle) is not
            # paged twice for the same moment.
            if who not in TABLE[Severity.P0].notify:
                inc.page(who, f"escalation matrix: unresolved after {offset:g}s, now SEV-1")
        progress.matrix_done += 1


async def update_cadence(inc: Watched, policy: CommsPolicy, customers: bool,
                         progress: ClockProgress) -> None:
    clock = "customer_update" if customers else "status_update"
    # Customers were told at the declaration if it was customer-facing (``start``).
    told, one_hour = True, customers and patched(LATE_SEV1, since=LATE_SEV1_RELEASE)
    while not inc.closed:
        level = inc.severity
        if customers and level not in PUBLIC:
            told = False
            await workflow.wait_condition(_closed_or_changed(inc, level))
            continue
        every = policy.customer_cadence_seconds if customers else policy.cadence_seconds[level]
        counted_at: Severity | None = level
        changed = _closed_or_changed(inc, level)
        if one_hour:
            if not told:  # it has just become customer-facing: customers hear now
                told = True
                progress.passed(clock)
                inc.post_update(customers)
            # One cadence for P0 and P1: a change between them keeps the deadline.
            counted_at, changed = None, _closed_or_private(inc)
        left = progress.remaining(clock, workflow.now(), every, counted_at)
        what = "customer update" if customers else "status update"
        if not await _wait(inc, changed, left, _counting(f"{what} in ", f" ({level})")):
            progress.passed(clock)
            inc.post_update(customers)
