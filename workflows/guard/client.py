"""What an incident's workflows call to consult the guard: one activity per operation,
with its options, and the wait for a busy target to free.

Usage from a workflow (the signal handler must be declared on the workflow class)::

    self._guard_wait = GuardWait()

    @workflow.signal(name=GUARD_RELEASED)
    def guard_released(self, note: GuardReleased) -> None:
        self._guard_wait.released(note)

    admission = await guard.admit_waiting(request, self._guard_wait, wait_seconds=300)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.guard import GuardActivities
    from remediator.models.guard import (
        Admission,
        AdmitRequest,
        GuardReleased,
        Recurrence,
        RecurrenceOutcome,
        Released,
        ReleaseRequest,
        StepFinished,
        StepRequest,
        StepSlot,
        VerificationOutcome,
        VerificationRecord,
    )
    from workflows.support import ui, waits
    from workflows.support.options import RETRY, ActivityOptions, local
    from workflows.support.shutdown import retried_on_next_worker
    from workflows.support.versions import patched

# An update to the guard is one round trip; while Temporal is away it is retried (with
# the same update id: a retry never counts twice) until it answers.
#
# An activity per call (since release-2026-12-d). It was a local activity (one marker
# instead of ~6 events), but a local activity keeps its workflow task open, and so its
# run pinned in the worker's cache, until the guard answers: a burst of incidents all
# waiting on the one guard filled the cache with pinned runs, their tasks timed out, the
# timeouts cancelled the calls, and the burst livelocked (BENCHMARKS.md). A run waiting
# on an activity holds nothing. The heartbeat (pulsed by the worker) retries a call cut
# short by a dead worker within seconds.
GUARD_TASK = ActivityOptions(start_to_close_timeout=timedelta(seconds=30),
                             heartbeat_timeout=timedelta(seconds=5), retry_policy=RETRY)
# The earlier local-activity calls, for executions recorded before it: a worker that
# dies mid-call fails its workflow task, and the retry asks again under the same id.
GUARD_CALL = local(ActivityOptions(start_to_close_timeout=timedelta(seconds=30),
                                   retry_policy=RETRY))
GUARD_TASKS = "guard-calls-as-activities"
# How long an incident waits for a busy target by default, before it hands over.
LOCK_WAIT_SECONDS = 300.0

A = TypeVar("A")
R = TypeVar("R")


async def _call(method: Callable[[Any, A], Awaitable[R]], arg: A, summary: str) -> R:
    if patched(GUARD_TASKS, since="release-2026-12-d"):
        return await workflow.execute_activity_method(method, arg, **GUARD_TASK,
                                                      summary=summary)
    return await retried_on_next_worker(workflow.execute_local_activity_method(
        method, arg, **GUARD_CALL, summary=summary))


async def admit(req: AdmitRequest) -> Admission:
    """Shadow or live, and every target's lock or none (see ``Admission``)."""
    return await _call(
        GuardActivities.guard_admit, req,
        ui.line("guard: lock " + (", ".join(t.target for t in req.targets) or "nothing")
                + f" for runbook {req.runbook}"))


async def step_started(req: StepRequest) -> StepSlot:
    """A fleet slot before a mutating step (``granted`` false: cap reached or paused)."""
    return await _call(GuardActivities.guard_step_started, req,
                       ui.line(f"guard: fleet slot for {req.action} on {req.target}"))


async def step_finished(req: StepFinished) -> StepSlot:
    """The step is over: its slot frees; ``applied`` starts the action's cooldown."""
    return await _call(GuardActivities.guard_step_finished, req,
                       ui.line(f"guard: {req.action} on {req.target} over"
                               + (" (cooldown starts)" if req.applied else "")))


async def verification_recorded(rec: VerificationRecord) -> VerificationOutcome:
    """After the verdict: a failure may block the runbook or trip the breaker (page then)."""
    return await _call(GuardActivities.guard_verification_recorded, rec,
                       ui.line(f"guard: runbook {rec.runbook} "
                               f"{'passed' if rec.passed else 'failed'} verification"))


async def recurred(rec: Recurrence) -> RecurrenceOutcome:
    """The group fires again after its fix passed: counted toward "the fix does not hold"."""
    return await _call(GuardActivities.guard_recurred, rec,
                       ui.line(f"guard: the group fired again after runbook {rec.runbook}"))


async def release(req: ReleaseRequest) -> Released:
    """Every lock and slot of the incident frees (verified, undone or handed over)."""
    return await _call(GuardActivities.guard_release, req,
                       "guard: release every lock and slot of the incident")


class GuardWait:
    """Counts ``guard_released`` signals, so a workflow can wait for the next one."""

    def __init__(self) -> None:
        self.count = 0
        self.last: GuardReleased | None = None

    def released(self, note: GuardReleased) -> None:
        self.count += 1
        self.last = note

    async def next_release(self, seen: int, timeout_seconds: float) -> bool:
        """True once a signal past ``seen`` arrived; False when ``timeout_seconds`` passed."""
        return await waits.until(
            lambda: self.count > seen, timeout_seconds,
            f"wait up to {ui.span(timeout_seconds)} for a busy target to free")


async def admit_waiting(req: AdmitRequest, waiter: GuardWait,
                        wait_seconds: float = LOCK_WAIT_SECONDS) -> Admission:
    """``admit``, asked again each time a busy target frees, for up to ``wait_seconds``;
    the last answer (still busy: hand over, "target busy: held by INC-…")."""
    deadline = workflow.now() + timedelta(seconds=wait_seconds)
    seen = waiter.count
    answer = await admit(req)
    while answer.busy and not answer.refused:
        left = (deadline - workflow.now()).total_seconds()
        if left <= 0 or not await waiter.next_release(seen, left):
            return answer
        seen = waiter.count
        answer = await admit(req)
    return answer
