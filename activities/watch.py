"""Watching a verify window from one activity: a poll every interval until the window
ends, with each round in the heartbeat, so that a worker killed mid-window costs a
retry that resumes where it was (the end is fixed: the window is neither restarted nor
cut short), and a healthy window costs one activity instead of a timer, an activity
and two workflow tasks per poll."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pydantic import Field, TypeAdapter
from temporalio import activity

from activities.health import HealthActivities
from activities.metrics import MetricActivities
from activities.support.heartbeats import heartbeats_itself
from remediator.models.contract import Contract
from remediator.models.runbook import Check
from remediator.models.verification import Baseline, CheckResult
from remediator.verdicts import assess, baseline_for

Rounds = list[list[CheckResult]]
ROUNDS = TypeAdapter(Rounds)
BEAT_SECONDS = 1.0


class WatchRequest(Contract):
    """Poll ``checks`` every ``interval_seconds`` until ``ends_at`` (at least one round).
    ``stop_on_change``: return as soon as a round's health differs from the one before
    (``healthy_before``, or nothing yet), so the workflow can record it live."""

    checks: list[Check] = Field(min_length=1)
    baselines: list[Baseline] = Field(default_factory=list)
    interval_seconds: float = Field(gt=0)
    ends_at: datetime
    stop_on_change: bool = False
    healthy_before: bool | None = None


class WatchResult(Contract):
    rounds: Rounds


def _healthy(round_: list[CheckResult]) -> bool:
    return all(r.healthy for r in round_)


class WatchActivities:
    def __init__(self, health: HealthActivities, metrics: MetricActivities) -> None:
        self._health = health
        self._metrics = metrics

    @activity.defn
    @heartbeats_itself
    async def watch_window(self, req: WatchRequest) -> WatchResult:
        """The rounds seen until the window ended (or it changed, or the workflow asked
        to stop: a cancellation returns the rounds so far)."""
        details = activity.info().heartbeat_details
        rounds: Rounds = ROUNDS.validate_python(details[0]) if details else []
        before = _healthy(rounds[-1]) if rounds else req.healthy_before
        try:
            while True:
                remaining = (req.ends_at - datetime.now(UTC)).total_seconds()
                if remaining <= 0 and rounds:
                    break
                if remaining > 0:
                    await self._pause(min(req.interval_seconds, remaining), rounds)
                round_ = [await self._check(c, req.baselines) for c in req.checks]
                rounds.append(round_)
                activity.heartbeat(ROUNDS.dump_python(rounds, mode="json"))
                if req.stop_on_change and _healthy(round_) != before:
                    break
                before = _healthy(round_)
        except asyncio.CancelledError:  # the window was extended or ended by a human
            return WatchResult(rounds=rounds)
        return WatchResult(rounds=rounds)

    @staticmethod
    async def _pause(seconds: float, rounds: Rounds) -> None:
        """Wait, heartbeating (the rounds so far) so a lost worker is noticed in seconds."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            await asyncio.sleep(min(BEAT_SECONDS, left))
            activity.heartbeat(ROUNDS.dump_python(rounds, mode="json"))

    async def _check(self, check: Check, baselines: list[Baseline]) -> CheckResult:
        try:
            if check.is_metric:
                reading = await self._metrics.read_metric(check)
                return assess(check, reading, baseline_for(check, baselines))
            return await self._health.check_health(check)
        except Exception as exc:  # a source that failed is an unhealthy round, not a crash
            return CheckResult(check=check, healthy=False, observed=f"no data: {exc}"[:300],
                               at=datetime.now(UTC))
