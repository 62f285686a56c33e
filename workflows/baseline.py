"""Baselines: what "back to normal" means for each verification metric.

Before the first mitigation the incident reads every metric check twice: its mean
over the lookback that ends a gap before the first alert started (the normal level,
the incident's build-up left out) and its value now (how bad it is). Verify then
holds each reading against a limit derived from the check and that baseline.
Deterministic: the only times used are the alerts' and ``workflow.now()``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.metrics import MetricActivities
    from remediator.models.alert import Alert
    from remediator.models.policy import Timings
    from remediator.models.runbook import Check, VerifySpec
    from remediator.models.verification import Baseline, BaselineWindow, CheckResult, MetricReading
    from remediator.verdicts import assess, baseline_for
    from workflows.saga import failure_message
    from workflows.support.options import side_effect
    from workflows.support.timeline import Recorder

READ_TIMEOUT_SECONDS = 15.0


def incident_began(alerts: list[Alert]) -> datetime:
    """When the earliest alert of the group started firing (or arrived, if it did not say)."""
    return min(a.starts_at or a.received_at for a in alerts)


def baseline_range(began_at: datetime, timings: Timings) -> tuple[datetime, datetime]:
    end = began_at - timedelta(seconds=timings.baseline_gap_seconds)
    return end - timedelta(seconds=timings.baseline_lookback_seconds), end


async def read(activity: Any, arg: Check | BaselineWindow) -> MetricReading:
    """One read activity; a read that gave up (source unreachable) is no data."""
    summary = (f"baseline of {arg.check.label} {arg.start:%H:%M}–{arg.end:%H:%M} UTC"
               if isinstance(arg, BaselineWindow) else f"read {arg.label} now")
    try:
        reading: MetricReading = await workflow.execute_activity_method(
            activity, arg, **side_effect(READ_TIMEOUT_SECONDS, attempts=3, heartbeat_seconds=3),
            summary=summary)
    except ActivityError as err:
        return MetricReading(value=None, detail=f"no data: {failure_message(err)}",
                             at=workflow.now())
    return reading


async def measure(check: Check, baselines: list[Baseline]) -> CheckResult:
    """Read a metric check now and judge it against its baseline."""
    return assess(check, await read(MetricActivities.read_metric, check),
                  baseline_for(check, baselines))


async def capture_baselines(spec: VerifySpec, began_at: datetime, timings: Timings,
                            rec: Recorder) -> list[Baseline]:
    """Each metric check's pre-incident mean and current value, recorded in the timeline."""
    start, end = baseline_range(began_at, timings)
    baselines = []
    for check in (c for c in spec.checks if c.is_metric):
        before = await read(MetricActivities.read_baseline,
                            BaselineWindow(check=check, start=start, end=end))
        now = await read(MetricActivities.read_metric, check)
        detail = (f"{check.label}: baseline {before.detail} over "
                  f"{start:%H:%M:%S}–{end:%H:%M:%S} UTC; now {now.detail}")
        baselines.append(Baseline(check=check, value=before.value, current=now.value,
                                  start=start, end=end, detail=detail))
        await rec.add("baseline.captured" if before.value is not None else "baseline.missing",
                      detail)
    return baselines
