"""Verification criteria as data: runbook validation, limits, verdicts (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from remediator.models.alert import Alert
from remediator.models.policy import Timings
from remediator.models.runbook import Check
from remediator.models.verification import Baseline, CheckResult, MetricReading
from remediator.runbooks.errors import InvalidRunbook
from remediator.runbooks.loading import parse_runbook
from remediator.verdicts import assess, limit_of
from starters.cli import app
from workflows.baseline import baseline_range, incident_began
from workflows.catalogue import lookup
from workflows.verify import WindowChange, judge

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ERRORS = 'sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m]))'


def _baseline(check: Check, value: float | None) -> Baseline:
    return Baseline(check=check, value=value, current=0.5, start=NOW, end=NOW, detail="")


def _reading(value: float | None) -> MetricReading:
    return MetricReading(value=value, detail="no data: empty result" if value is None else "",
                         at=NOW)


@pytest.mark.parametrize(("fields", "message"), [
    ({"source": "prometheus", "threshold": 1}, "a prometheus check needs query"),
    ({"source": "prometheus", "query": "up"}, "needs threshold and/or relative_to_baseline"),
    ({"source": "prometheus", "query": "up", "target": "x", "threshold": 1}, "takes query, not target"),
    ({"source": "prometheus", "query": "up", "threshold": 1, "expect": "ok"}, "use threshold"),
    ({"source": "cloudwatch", "query": "up", "threshold": 1}, "a cloudwatch check needs metric"),
    ({"source": "redis_key", "target": "k", "threshold": 1}, "takes expect, not a threshold"),
    ({"source": "http", "query": "up"}, "http check needs target"),
    ({"source": "prometheus", "query": "up", "relative_to_baseline": 0}, "greater than 0"),
    ({"source": "prometheus", "query": "up", "threshold": float("nan")}, "finite number"),
])
def test_a_check_must_fit_its_source(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Check.model_validate(fields)


def test_health_checks_validate_as_before() -> None:
    check = Check.model_validate({"source": "redis_key", "target": "health:x", "expect": "ok"})
    assert (check.target, check.expect, check.is_metric) == ("health:x", "ok", False)
    assert Check(source="http", target="http://svc/healthz").comparison == "below"


RUNBOOK = """\
name: rb
match: {alertname: A}
steps:
  - {id: one, action: feature_flag.set, params: {flag: f, value: "off"}}
fallback_steps:
  - {id: one, action: feature_flag.set, params: {flag: g, value: "off"}}
  - {id: two, action: no.such.action}
verify:
  checks:
    - source: prometheus
      comparison: below
      threshold: 0.01
"""


def test_runbook_validation_reports_fallback_and_criteria_mistakes() -> None:
    with pytest.raises(InvalidRunbook) as err:
        parse_runbook(RUNBOOK, "rb.yaml", actions=lookup)
    found = {(e.path, e.line) for e in err.value.errors}
    assert ("fallback_steps[0].id", 6) in found
    assert ("fallback_steps[1].action", 7) in found
    assert ("verify.checks[0]", 10) in found
    messages = " ".join(e.message for e in err.value.errors)
    assert "a prometheus check needs query" in messages and "duplicate step id 'one'" in messages


def test_fallback_steps_need_steps() -> None:
    text = """\
name: rb
match: {alertname: A}
fallback_steps:
  - {id: one, action: feature_flag.set, params: {flag: f, value: "off"}}
verify:
  checks: [{source: prometheus, query: up, threshold: 1}]
"""
    with pytest.raises(InvalidRunbook, match="fallback_steps need steps to fall back from"):
        parse_runbook(text, actions=lookup)


def test_cli_validate_points_at_a_bad_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RUNBOOK)
    result = CliRunner().invoke(app, ["runbook", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:10: verify.checks[0]: Value error, a prometheus check needs query" in result.output


def test_relative_limit_is_a_multiple_of_the_baseline() -> None:
    check = Check(source="prometheus", query=ERRORS, relative_to_baseline=1.1)
    assert limit_of(check, _baseline(check, 0.02)) == (pytest.approx(0.022), "1.1 × baseline 0.02")
    assert assess(check, _reading(0.021), _baseline(check, 0.02)).healthy
    assert not assess(check, _reading(0.03), _baseline(check, 0.02)).healthy


def test_threshold_is_an_allowance_when_the_baseline_is_near_zero() -> None:
    check = Check(source="prometheus", query=ERRORS, relative_to_baseline=1.1, threshold=0.001)
    assert limit_of(check, _baseline(check, 0.0)) == (0.001, "threshold")
    assert limit_of(check, _baseline(check, 0.5))[0] == pytest.approx(0.55)
    assert limit_of(check, _baseline(check, None)) == (0.001, "threshold")


def test_above_keeps_a_floor() -> None:
    check = Check(source="prometheus", query="sum(rate(orders_total[5m]))", comparison="above",
                  relative_to_baseline=0.9, threshold=50)
    assert limit_of(check, _baseline(check, 100))[0] == 50  # the more lenient floor
    assert assess(check, _reading(60), _baseline(check, 100)).healthy
    assert not assess(check, _reading(40), _baseline(check, 100)).healthy


def test_no_data_or_no_baseline_is_never_healthy() -> None:
    relative = Check(source="prometheus", query=ERRORS, relative_to_baseline=2)
    result = assess(relative, _reading(0.0), _baseline(relative, None))
    assert not result.healthy and "no baseline to compare with" in result.observed
    assert not assess(relative, _reading(0.0), None).healthy
    absolute = Check(source="prometheus", query=ERRORS, threshold=1)
    result = assess(absolute, _reading(None), None)
    assert not result.healthy and result.observed == f"{ERRORS}: no data: empty result"


def _round(*healthy: bool) -> list[CheckResult]:
    check = Check(source="redis_key", target="k")
    return [CheckResult(check=check, healthy=h, observed="", at=NOW) for h in healthy]


def test_judge_passes_a_stable_recovery_and_fails_flapping() -> None:
    assert judge([_round(False), _round(True), _round(True, True)])[0]
    passed, why = judge([_round(True), _round(False), _round(True)])
    assert not passed and why.startswith("flapping")
    assert not judge([_round(True), _round(True, False)])[0]
    assert not judge([])[0]


def test_baseline_range_ends_a_gap_before_the_first_alert() -> None:
    alerts = [Alert(source="a", name="n", fingerprint=f, starts_at=at, received_at=NOW)
              for f, at in (("1", NOW - timedelta(minutes=3)), ("2", None))]
    began = incident_began(alerts)
    assert began == NOW - timedelta(minutes=3)
    start, end = baseline_range(began, Timings())
    assert end == began - timedelta(minutes=15) and end - start == timedelta(hours=1)


@pytest.mark.parametrize("fields", [
    {"by": "alice"}, {"by": "alice", "extend_seconds": 60, "end_now": True},
    {"by": "alice", "extend_seconds": -5}, {"by": "", "end_now": True},
])
def test_window_change_needs_who_and_one_positive_change(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WindowChange.model_validate(fields)
