"""How a metric reading is judged against its limit: pure, so the verify workflow and
the activity that watches a window judge alike."""

from __future__ import annotations

from remediator.models.runbook import Check
from remediator.models.verification import Baseline, CheckResult, MetricReading


def baseline_for(check: Check, baselines: list[Baseline]) -> Baseline | None:
    return next((b for b in baselines if b.check == check), None)


def limit_of(check: Check, baseline: Baseline | None) -> tuple[float | None, str]:
    """The limit a metric check holds its value against, and how it was set.

    None when there is nothing to judge by: a relative check without a baseline.
    With both a threshold and a relative limit, the more lenient one applies.
    """
    limits: list[tuple[float, str]] = []
    if check.threshold is not None:
        limits.append((check.threshold, "threshold"))
    if check.relative_to_baseline is not None:
        if baseline is None or baseline.value is None:
            if not limits:
                return None, "no baseline to compare with"
        else:
            factor = check.relative_to_baseline
            limits.append((factor * baseline.value, f"{factor:g} × baseline {baseline.value:g}"))
    pick = max if check.comparison == "below" else min
    value, how = pick(limits, key=lambda limit: limit[0])
    return value, how


def assess(check: Check, reading: MetricReading, baseline: Baseline | None) -> CheckResult:
    """Healthy only with a value on the right side of the limit; no data is never healthy."""
    def result(healthy: bool, observed: str) -> CheckResult:
        return CheckResult(check=check, healthy=healthy, observed=f"{check.label}: {observed}",
                           at=reading.at)

    if reading.value is None:
        return result(False, reading.detail)
    limit, how = limit_of(check, baseline)
    if limit is None:
        return result(False, f"{reading.value:g}, {how}")
    below = check.comparison == "below"
    healthy = reading.value <= limit if below else reading.value >= limit
    return result(healthy, f"{reading.value:g} ({'≤' if below else '≥'} {limit:g}: {how})")
