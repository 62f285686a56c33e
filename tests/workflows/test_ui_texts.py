"""The texts the Temporal UI shows: durations as people say them, steps in words, bounds."""

from __future__ import annotations

from datetime import UTC, datetime

from remediator.models.alert import Alert
from remediator.models.mitigation import MitigationStep
from workflows.support import ui


def test_durations_read_as_people_say_them() -> None:
    assert [ui.span(s) for s in (0.5, 45, 900, 1800, 3600, 5400, 9000, 14400, 86400)] == [
        "0.5 s", "45 s", "15 min", "30 min", "1 h", "90 min", "2 h 30 min", "4 h", "1 d"]


def test_a_step_says_what_it_does() -> None:
    flag = MitigationStep(id="flip", action="feature_flag.set",
                          params={"flag": "checkout-v2", "value": "off"})
    assert ui.step_line(flag) == "flip: set flag checkout-v2 → off"
    flush = MitigationStep(id="flush", action="cache.flush", params={"pattern": "user:*"})
    assert ui.step_line(flush) == "flush: cache.flush: pattern=user:*"


def test_summaries_stay_on_one_bounded_line_and_details_are_bounded() -> None:
    alert = Alert(source="alertmanager", name="Boom", fingerprint="f",
                  received_at=datetime.now(UTC),
                  annotations={"summary": "line one\nline two " + "x" * 500},
                  labels={f"l{i}": "v" * 1024 for i in range(32)} | {"service": "api"})
    summary, details = ui.opening([alert])
    assert "\n" not in summary and len(summary) <= ui.MAX_SUMMARY
    assert summary.startswith("[P2] line one line two")
    assert len(details) <= ui.MAX_DETAILS
