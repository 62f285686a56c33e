"""Verify: watch the health signals over a durable window; undo and escalate on failure.

The window's end is fixed when it opens (``workflow.now()`` is replayed, not
re-read) and handed to the ``watch_window`` activity, which polls until then and
heartbeats each round: a crashed worker costs a retry that resumes the rounds, a
crashed server a later retry; neither shortens nor restarts the window. Only a human moves it, through the
``adjust_window`` update (extend, or end now), and that is recorded too.
Metric checks are held against the baselines captured before mitigation
(``workflows.baseline``); health checks read a Redis key or an HTTP endpoint.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Self

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

from workflows.support.versions import patched

with workflow.unsafe.imports_passed_through():
    from pydantic import Field, model_validator

    from activities.health import HealthActivities
    from activities.watch import WatchActivities, WatchRequest
    from remediator.models.contract import Contract
    from remediator.models.incident import Phase
    from remediator.models.mitigation import StepOutcome
    from remediator.models.policy import Timings
    from remediator.models.runbook import Check, Runbook, VerifySpec
    from remediator.models.verification import Baseline, CheckResult, Verdict
    from remediator.severity import Severity, raise_one
    from workflows.baseline import measure
    from workflows.saga import failure_message, undo_in_reverse
    from workflows.support import ui
    from workflows.support.options import RETRY, side_effect
    from workflows.support.timeline import PhaseResult, Recorder, before_wait


# Windows opened since this patch are watched by one heartbeating activity; before, by a
# timer and a check activity per round.
WATCH_ACTIVITY = "verify-watch-activity"
WATCH_HEARTBEAT_SECONDS = 3.0


class WindowPlan(Contract):
    """The verify window as it opens: when, how long, how often it is checked.

    Since release-2026-12-l the incident opens it as it starts this phase and records
    the opening on its own timeline: the phase used to signal that entry back (a signal
    and a workflow task on each side, ~9 history events per incident). The window now
    counts from the mitigation's end, not from this phase's first workflow task, which
    a busy worker may start seconds later."""

    started_at: datetime
    window_seconds: float = Field(ge=0)
    interval_seconds: float = Field(gt=0)

    @classmethod
    def opening(cls, spec: VerifySpec, timings: Timings, severity: Severity,
                now: datetime) -> WindowPlan:
        """The runbook's window and interval, else the policy's for this severity."""
        window = spec.window_seconds
        if window is None:
            window = timings.verify_window(severity)
        return cls(started_at=now, window_seconds=window,
                   interval_seconds=spec.interval_seconds or timings.verify_interval_seconds)

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.window_seconds)

    def detail(self) -> str:
        """The ``verify.window_started`` entry's text."""
        return (f"monitoring {self.window_seconds:g}s until {self.ends_at:%H:%M:%S} UTC, "
                f"every {self.interval_seconds:g}s")


class VerifyInput(Contract):
    incident_id: str
    severity: Severity
    runbook: Runbook | None
    applied: list[StepOutcome]
    timings: Timings
    baselines: list[Baseline] = Field(default_factory=list)
    # Opened by the incident, which recorded it (release-2026-12-l); None: opened here.
    window: WindowPlan | None = None
    # The release that started this phase (as in its memo: ``versions.named``). Only for
    # workers of an earlier release, which refuse an unknown field: they never run a
    # phase on paths they do not know.
    release: str | None = None


class VerifyResult(PhaseResult):
    verdict: Verdict
    undone: list[StepOutcome]
    severity: Severity


class WindowChange(Contract):
    """A human stretches the verify window or ends it now (the verdict is judged then)."""

    by: str = Field(min_length=1, max_length=200)
    extend_seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    end_now: bool = False
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        if (self.extend_seconds is None) == (not self.end_now):
            raise ValueError("give either extend_seconds or end_now, not both or neither")
        return self


class WindowState(Contract):
    """The verify window as it stands: when it opened, when it ends, what was seen."""

    started_at: datetime
    ends_at: datetime
    rounds: int
    healthy_rounds: int
    closed: bool


def judge(rounds: list[list[CheckResult]]) -> tuple[bool, str]:
    """Pass when the last round is healthy and nothing failed after the first healthy one."""
    healthy = [all(r.healthy for r in round_) for round_ in rounds]
    if not healthy or not healthy[-1]:
        return False, f"unhealthy at the end of the window ({healthy.count(False)} bad round(s))"
    first_ok = healthy.index(True)
    if not all(healthy[first_ok:]):
        return False, "flapping: recovered, then failed again within the window"
    return True, f"healthy for the rest of the window after round {first_ok + 1}/{len(healthy)}"


@workflow.defn
class VerifyWorkflow:
    """Verdict on recovery after a monitoring window; saga undo when it failed."""

    @workflow.init
    def __init__(self, inp: VerifyInput) -> None:
        self._rec = Recorder(Phase.VERIFY)
        # Opened by the incident (release l): open to a human's change from the first
        # workflow task, even one that comes before ``run`` has started.
        self._started: datetime | None = inp.window.started_at if inp.window else None
        self._end: datetime | None = inp.window.ends_at if inp.window else None
        self._rounds: list[list[CheckResult]] = []
        self._closed = False
        self._shown = ("", Severity.P2)

    @workflow.run
    async def run(self, inp: VerifyInput) -> VerifyResult:
        return await self._rec.around(lambda: self._phase(inp))

    async def _phase(self, inp: VerifyInput) -> VerifyResult:
        assert inp.runbook is not None, "verify needs the runbook's criteria"
        verdict = await self._watch(inp.runbook.verify, inp)
        await self._rec.add("verify.passed" if verdict.passed else "verify.failed", verdict.detail)
        workflow.set_current_details(f"### Verification {'passed' if verdict.passed else 'failed'}"
                                     f"\n\n{verdict.detail}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        if verdict.passed or inp.runbook.escalation.on_verify_failure == "escalate_only":
            severity = inp.severity if verdict.passed else raise_one(inp.severity)
            return VerifyResult(verdict=verdict, undone=[], severity=severity)
        undone = await undo_in_reverse(
            inp.incident_id, inp.applied, inp.timings.mitigation_timeout_seconds
        )
        for outcome in undone:
            await self._rec.add(f"mitigation.{outcome.state}", f"{outcome.step_id}: {outcome.detail}")
        severity = raise_one(inp.severity)
        await self._rec.add("severity.escalated", f"{inp.severity} → {severity}: not recovered")
        return VerifyResult(verdict=verdict, undone=undone, severity=severity)

    async def _watch(self, spec: VerifySpec, inp: VerifyInput) -> Verdict:
        plan = inp.window
        if plan is None:  # an incident of an earlier release left the window to open here
            plan = WindowPlan.opening(spec, inp.timings, inp.severity, workflow.now())
            self._started, self._end = plan.started_at, plan.ends_at
            await self._rec.add("verify.window_started", plan.detail(),
                                live=before_wait(plan.window_seconds))
        interval = plan.interval_seconds
        started = plan.started_at
        self._shown = (", ".join(c.label for c in spec.checks) or "no checks", inp.severity)
        self._show()
        rounds = self._rounds
        if patched(WATCH_ACTIVITY):
            await self._watch_by_activity(spec, inp, interval)
        else:
            await self._watch_by_timers(spec, inp, interval)
        self._closed = True
        passed, detail = judge(rounds)
        return Verdict(passed=passed, detail=detail, checks=[r for rd in rounds for r in rd],
                       window_started_at=started, window_ended_at=workflow.now())

    async def _watch_by_activity(self, spec: VerifySpec, inp: VerifyInput,
                                 interval: float) -> None:
        """Rounds from the ``watch_window`` activity until the window's end; a human's
        change of the end stops the current watch (its rounds kept) and starts the next.
        A long window's first round and every change come back at once, to be live."""
        rounds = self._rounds
        while True:
            assert self._end is not None
            end = self._end
            remaining = (end - workflow.now()).total_seconds()
            if remaining <= 0 and rounds:
                return
            for round_ in await self._watch_until(end, spec, inp, interval):
                rounds.append(round_)
                await self._note_change(rounds)

    async def _watch_until(self, end: datetime, spec: VerifySpec, inp: VerifyInput,
                           interval: float) -> list[list[CheckResult]]:
        """One watch, to ``end`` or until a human moves the end (the rounds seen)."""
        rounds = self._rounds
        remaining = (end - workflow.now()).total_seconds()
        assert self._started is not None
        window = ui.span((end - self._started).total_seconds())
        watch = workflow.start_activity_method(
            WatchActivities.watch_window, WatchRequest(
                checks=spec.checks, baselines=inp.baselines, interval_seconds=interval,
                ends_at=end, stop_on_change=before_wait(remaining),
                healthy_before=all(r.healthy for r in rounds[-1]) if rounds else None),
            start_to_close_timeout=timedelta(seconds=max(remaining, 0) + interval + 60),
            heartbeat_timeout=timedelta(seconds=WATCH_HEARTBEAT_SECONDS), retry_policy=RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=ui.line(f"verify window {window} ({inp.severity}) until {end:%H:%M:%S} UTC: "
                            + ", ".join(c.label for c in spec.checks)))
        await workflow.wait_condition(lambda: watch.done() or self._end != end)
        if not watch.done():
            watch.cancel()
        try:
            return (await watch).rounds
        except ActivityError as err:  # gave up (or cancelled before its first round)
            if self._end != end:
                return []
            return [[CheckResult(check=c, healthy=False, at=workflow.now(),
                                 observed=f"no reading: {failure_message(err)}")
                     for c in spec.checks]]

    async def _watch_by_timers(self, spec: VerifySpec, inp: VerifyInput, interval: float) -> None:
        """Windows opened before the watch activity: a timer and a check per round."""
        rounds = self._rounds
        assert self._end is not None
        # Only workflow time at or past the end leaves the loop (a timer may fire a few ms
        # early), so the reported end is never before the scheduled one.
        while True:
            remaining = (self._end - workflow.now()).total_seconds()
            if remaining <= 0 and rounds:
                return
            if remaining > 0:
                await self._pause(min(interval, remaining))
            rounds.append([await self._check(c, inp.baselines) for c in spec.checks])
            await self._note_change(rounds)

    async def _pause(self, seconds: float) -> None:
        """A durable timer that a human ending the window cuts short."""
        end = self._end
        assert end is not None
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._end is not None and self._end < end,
                                          timeout=seconds,
                                          timeout_summary=f"next health check in {ui.span(seconds)}")

    async def _note_change(self, rounds: list[list[CheckResult]]) -> None:
        """Record the first round and every change between healthy and unhealthy."""
        healthy = all(r.healthy for r in rounds[-1])
        if len(rounds) == 1 or healthy != all(r.healthy for r in rounds[-2]):
            observed = "; ".join(r.observed for r in rounds[-1])
            assert self._end is not None
            remaining = (self._end - workflow.now()).total_seconds()
            await self._rec.add("verify.healthy" if healthy else "verify.unhealthy",
                                f"round {len(rounds)}: {observed}", live=before_wait(remaining))

    async def _check(self, check: Check, baselines: list[Baseline]) -> CheckResult:
        if check.is_metric:
            return await measure(check, baselines)
        try:
            return await workflow.execute_activity_method(
                HealthActivities.check_health, check,
                **side_effect(10, attempts=3, heartbeat_seconds=3),
                summary=ui.line(f"health check {check.label}"),
            )
        except ActivityError as err:
            return CheckResult(check=check, healthy=False, observed=failure_message(err),
                               at=workflow.now())

    def _show(self) -> None:
        """What the window waits for (the UI's current details), as it now stands."""
        assert self._started is not None and self._end is not None
        window = (self._end - self._started).total_seconds()
        checks, severity = self._shown
        workflow.set_current_details(ui.verifying(window, self._end, severity, checks))

    @workflow.update
    async def adjust_window(self, change: WindowChange) -> WindowState:
        """Extend the window, or end it now (judged on what was seen); recorded with who."""
        assert self._end is not None
        why = f": {change.reason}" if change.reason else ""
        if change.end_now:
            self._end = workflow.now()
            await self._rec.add("verify.window_ended_early", f"by {change.by}{why}", live=True)
        else:
            assert change.extend_seconds is not None
            self._end += timedelta(seconds=change.extend_seconds)
            await self._rec.add("verify.window_extended", f"by {change.by}: "
                                f"+{change.extend_seconds:g}s, until {self._end:%H:%M:%S} UTC{why}",
                                live=True)
        self._show()
        return self.window()

    @adjust_window.validator
    def _window_open(self, change: WindowChange) -> None:
        if self._end is None or self._closed:
            raise ValueError("the verify window is not open")

    @workflow.query
    def window(self) -> WindowState:
        """When the window opened and ends, and how many rounds were healthy so far."""
        if self._started is None or self._end is None:
            raise ValueError("the verify window has not opened yet")
        return WindowState(started_at=self._started, ends_at=self._end, rounds=len(self._rounds),
                           healthy_rounds=sum(all(r.healthy for r in rd) for rd in self._rounds),
                           closed=self._closed)
