"""Maintenance-window rules without a server: matchers as Alertmanager reads them, and
when recurring windows are open or overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from remediator.matchers import BadMatcher, all_match, parse_matchers
from workflows.guard.models import MaintenanceRequest, MaintenanceWindow
from workflows.guard.windows import BadWindow, is_open, window_from

T0 = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(("matchers", "labels", "expected"), [
    (["service=checkout"], {"service": "checkout"}, True),
    (["service=checkout"], {"service": "cart"}, False),
    (["team!=db"], {}, True),  # a missing label is ""
    (['env=~"prod|staging"'], {"env": "staging"}, True),
    (["env=~prod"], {"env": "production"}, False),  # anchored
    (["env!~dev.*"], {"env": "prod"}, True),
    (["service=checkout", "env=~prod.*"], {"service": "checkout", "env": "dev"}, False),
])
def test_matchers_match_as_alertmanager(matchers: list[str], labels: dict[str, str],
                                        expected: bool) -> None:
    assert all_match(parse_matchers(matchers), labels) is expected


def test_every_bad_matcher_is_named() -> None:
    with pytest.raises(BadMatcher) as raised:
        parse_matchers(["ok=1", "nope", "a=~(", "9x=1"])
    assert "unknown matcher 'nope'" in str(raised.value)
    assert "bad regex in matcher 'a=~('" in str(raised.value)
    assert "bad label name '9x'" in str(raised.value)


def _window(every: str | None, start: datetime, hours: float, window_id: str = "mw-1",
            existing: list[MaintenanceWindow] | None = None, now: datetime = T0,
            matchers: list[str] | None = None) -> MaintenanceWindow:
    req = MaintenanceRequest.model_validate({
        "matchers": matchers or ["team=db"], "starts_at": start,
        "ends_at": start + timedelta(hours=hours), "every": every, "reason": "r",
        "created_by": "alice"})
    return window_from(req, now, existing or [], window_id)


def test_weekly_window_opens_each_week_only_in_its_hours() -> None:
    weekly = _window("weekly", T0, 2)
    assert is_open(weekly, T0 + timedelta(weeks=3, hours=1))
    assert not is_open(weekly, T0 + timedelta(weeks=3, hours=2))
    assert not is_open(weekly, T0 + timedelta(days=1, hours=1))
    assert not is_open(weekly, T0 - timedelta(minutes=1))


def test_recurring_windows_with_identical_matchers_that_meet_overlap() -> None:
    daily = _window("daily", T0, 1)
    # A weekly window three weeks on, at 02:30 on a Friday: meets the daily one.
    with pytest.raises(BadWindow, match="overlaps window mw-1"):
        _window("weekly", T0 + timedelta(days=24, minutes=30), 1, "mw-2", [daily])
    # Same hours on other labels, or other hours: no overlap.
    _window("weekly", T0 + timedelta(days=24, minutes=30), 1, "mw-2", [daily],
            matchers=["team=web"])
    _window("weekly", T0 + timedelta(days=24, hours=3), 1, "mw-2", [daily])


def test_a_daily_window_longer_than_a_day_is_refused() -> None:
    with pytest.raises(BadWindow, match="lasts at most"):
        _window("daily", T0, 25)
