"""Maintenance windows: when one is open, whether two overlap, when one is over.

A recurring window repeats its first occurrence (``starts_at``…``ends_at``) every day or
week until ``until``; times are absolute (UTC), so "weekly, Tuesday 02:00–04:00" is a
first occurrence on a Tuesday at 02:00 lasting two hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from remediator.matchers import all_match, canonical, parse_matchers
from workflows.guard.models import MaintenanceRequest, MaintenanceWindow

PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
# Two recurring windows repeat together within two weeks of the later one's start.
HORIZON = timedelta(weeks=2)


class BadWindow(ValueError):
    """A maintenance request that cannot become a window; nothing was changed."""


def last_end(window: MaintenanceWindow) -> datetime | None:
    """When the window is over for good (None: a recurring window without ``until``)."""
    if window.ended_at is not None:
        return window.ended_at
    if window.every is None:
        return window.ends_at
    return window.until


def occurrences(window: MaintenanceWindow, lo: datetime, hi: datetime
                ) -> Iterator[tuple[datetime, datetime]]:
    """The window's open intervals that intersect ``[lo, hi)``."""
    stop = last_end(window)
    length = window.ends_at - window.starts_at
    period = PERIOD[window.every] if window.every else None
    start = window.starts_at
    if period is not None and lo - length > start:
        start += period * ((lo - length - start) // period)
    while start < hi:
        end = start + length
        if stop is not None:
            if start >= stop:
                return
            end = min(end, stop)
        if end > lo:
            yield start, end
        if period is None:
            return
        start += period


def is_open(window: MaintenanceWindow, now: datetime) -> bool:
    return next(occurrences(window, now, now + timedelta(microseconds=1)), None) is not None


def matches(window: MaintenanceWindow, labels: dict[str, str]) -> bool:
    return all_match(parse_matchers(window.matchers), labels)


def overlap(a: MaintenanceWindow, b: MaintenanceWindow) -> bool:
    lo = max(a.starts_at, b.starts_at) - PERIOD["weekly"]
    hi = max(a.starts_at, b.starts_at) + HORIZON
    spans = list(occurrences(b, lo, hi))
    return any(s < e2 and s2 < e for s, e in occurrences(a, lo, hi) for s2, e2 in spans)


def window_from(req: MaintenanceRequest, now: datetime, existing: list[MaintenanceWindow],
                window_id: str) -> MaintenanceWindow:
    """The window ``req`` asks for, or ``BadWindow`` saying what is wrong."""
    matchers = parse_matchers(req.matchers)  # BadMatcher is a ValueError too
    starts = req.starts_at or now
    if (req.ends_at is None) == (req.duration_seconds is None):
        raise BadWindow("give exactly one of ends_at and duration_seconds")
    ends = req.ends_at or starts + timedelta(seconds=req.duration_seconds or 0)
    if ends <= starts:
        raise BadWindow(f"the window ends ({ends.isoformat()}) before it starts "
                        f"({starts.isoformat()})")
    if req.every is not None and ends - starts > PERIOD[req.every]:
        raise BadWindow(f"a {req.every} window lasts at most {PERIOD[req.every]}")
    if req.until is not None and (req.every is None or req.until <= starts):
        raise BadWindow("until is for recurring windows (every) and comes after starts_at")
    window = MaintenanceWindow(
        id=window_id, matchers=[str(m) for m in matchers], starts_at=starts, ends_at=ends,
        every=req.every, until=req.until, reason=req.reason, created_by=req.created_by,
        created_at=now)
    if (stop := last_end(window)) is not None and stop <= now:
        raise BadWindow(f"the window is already over ({stop.isoformat()})")
    same = canonical(matchers)
    for other in existing:
        if canonical(parse_matchers(other.matchers)) == same and overlap(window, other):
            raise BadWindow(f"overlaps window {other.id} with identical matchers "
                            f"({', '.join(same)}); end or change that one instead")
    return window


def over(window: MaintenanceWindow, now: datetime) -> bool:
    stop = last_end(window)
    return stop is not None and stop <= now
