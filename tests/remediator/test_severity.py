"""The one severity table: seed 04's numbers, and every default that derives from it
(settings, approval deadlines, the comms policy's clocks, the verification windows)."""

from __future__ import annotations

import pytest

from remediator.models.approval import ApprovalPolicy
from remediator.models.comms import CommsPolicy
from remediator.models.policy import Timings
from remediator.settings import Settings
from remediator.severity import (
    DAY,
    HOUR,
    MINUTE,
    TABLE,
    Severity,
    approval_deadlines,
    more_severe,
    raise_one,
    update_cadences,
)

P0, P1, P2, P3 = Severity.P0, Severity.P1, Severity.P2, Severity.P3


def _default(field: str) -> object:
    # The declared default, whatever REMEDIATOR_* variables the test run has set.
    return Settings.model_fields[field].default


def test_the_table_has_seed_04s_response_times_cadences_and_circles() -> None:
    assert [(TABLE[s].sev, TABLE[s].name, TABLE[s].response_seconds,
             TABLE[s].update_cadence_seconds) for s in Severity] == [
        ("SEV-1", "Total Outage", 15 * MINUTE, 15 * MINUTE),
        ("SEV-2", "Major Degradation", 30 * MINUTE, 30 * MINUTE),
        ("SEV-3", "Partial Impact", 2 * HOUR, 2 * HOUR),
        ("SEV-4", "Minor Issue", DAY, DAY),
    ]
    assert "VP Engineering" in TABLE[P0].notify
    assert "VP Engineering" not in TABLE[P1].notify
    # "If a P2 is not resolved within 4 hours, escalate to P1"; P1 → P0 after 2 hours.
    assert {s: TABLE[s].escalate_after_seconds for s in Severity} == {
        P0: None, P1: 2 * HOUR, P2: 4 * HOUR, P3: None}
    assert [TABLE[s].monitor_seconds for s in Severity] == [15 * MINUTE, 15 * MINUTE,
                                                            30 * MINUTE, 30 * MINUTE]
    assert [TABLE[s].review_within_seconds for s in Severity] == [48 * HOUR, 48 * HOUR,
                                                                  7 * DAY, 7 * DAY]


def test_levels_are_ordered_p0_first() -> None:
    assert [raise_one(s) for s in Severity] == [P0, P0, P1, P2]
    assert more_severe(P2, P1) == P1 and more_severe(P0, P3) == P0 and more_severe(P2, P2) == P2


def test_settings_defaults_come_from_the_table() -> None:
    for s in Severity:
        assert _default(f"approval_deadline_{s.lower()}_seconds") == TABLE[s].response_seconds
    assert _default("verify_window_p0_p1_seconds") == TABLE[P0].monitor_seconds == \
        TABLE[P1].monitor_seconds
    assert _default("verify_window_p2_p3_seconds") == TABLE[P2].monitor_seconds == \
        TABLE[P3].monitor_seconds


def test_the_comms_policy_clocks_come_from_the_table() -> None:
    policy = CommsPolicy()
    assert policy.cadence_seconds == update_cadences() == {
        s: TABLE[s].update_cadence_seconds for s in Severity}
    assert policy.escalate_after_seconds == {P1: 2 * HOUR, P2: 4 * HOUR}
    assert policy.review_due_seconds == {s: TABLE[s].review_within_seconds for s in Severity}
    assert policy.matrix == [(15 * MINUTE, "Engineering lead", False),
                             (30 * MINUTE, "VP Engineering", True), (HOUR, "CTO", True),
                             (2 * HOUR, "CEO", True)]


def test_approval_deadlines_and_verify_windows_come_from_the_table() -> None:
    assert ApprovalPolicy().deadline_seconds == approval_deadlines() == {
        s: TABLE[s].response_seconds for s in Severity}
    timings = Timings()
    assert [timings.verify_window(s) for s in Severity] == [TABLE[s].monitor_seconds
                                                            for s in Severity]


def test_the_derived_defaults_are_copies() -> None:
    CommsPolicy().cadence_seconds[P0] = 1.0
    ApprovalPolicy().deadline_seconds[P0] = 1.0
    assert CommsPolicy().cadence_seconds[P0] == ApprovalPolicy().deadline_seconds[P0] == 15 * MINUTE


def test_the_environment_still_overrides_the_documented_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REMEDIATOR_APPROVAL_DEADLINE_P2_SECONDS", "5")
    monkeypatch.setenv("REMEDIATOR_VERIFY_WINDOW_P0_P1_SECONDS", "7")
    monkeypatch.delenv("REMEDIATOR_APPROVAL_DEADLINE_P0_SECONDS", raising=False)
    settings = Settings()
    assert settings.approval_deadline_p2_seconds == 5.0
    assert settings.verify_window_p0_p1_seconds == 7.0
    assert settings.approval_deadline_p0_seconds == TABLE[P0].response_seconds
    monkeypatch.delenv("REMEDIATOR_COMMS_OVERRIDES", raising=False)
    assert Settings().comms_policy().cadence_seconds == update_cadences()
