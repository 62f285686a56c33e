"""Triage's severity rules, as pure functions (label values of seed 02's SEV-1–4 and seed
04's P0–P3); the security alert end to end is in tests/e2e/test_security_triage.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from remediator.models.alert import Alert, AlertStatus
from remediator.severity import TABLE, Severity
from workflows.triage import TriageInput, assess
from workflows.triage_rules import SECURITY_CIRCLE, classify, response_team


@pytest.mark.parametrize(("value", "expected"), [
    ("P0", Severity.P0), ("sev1", Severity.P0), ("SEV-1", Severity.P0), ("critical", Severity.P0),
    ("p1", Severity.P1), ("sev-2", Severity.P1), ("high", Severity.P1), ("error", Severity.P1),
    ("P2", Severity.P2), ("SEV3", Severity.P2), ("warning", Severity.P2),
    ("p3", Severity.P3), ("sev-4", Severity.P3), ("info", Severity.P3), ("low", Severity.P3),
])
def test_label_values_of_both_scales_map_onto_one_table(value: str, expected: Severity) -> None:
    for key in ("severity", "priority", "sev"):
        assert classify({key: value}, None)[0] == expected


@pytest.mark.parametrize("labels", [
    {"severity": "info", "security": "true"}, {"category": "data-breach"},
    {"severity": "low", "data_breach": "yes"}, {"breach": "1"},
])
def test_security_and_data_breach_alerts_are_automatically_p0(labels: dict[str, str]) -> None:
    assert classify(labels, Severity.P3) == (Severity.P0,
                                             "security/data-breach alert is automatically P0")


def test_in_doubt_over_classify_and_a_runbook_floor_only_raises() -> None:
    assert classify({"severity": "spicy"}, None) == (
        Severity.P1, "unknown severity 'spicy': over-classified to P1")
    assert classify({}, None) == (Severity.P2, "no severity label: default P2")
    raised = classify({"severity": "info"}, Severity.P1)
    assert raised[0] == Severity.P1 and raised[1].endswith("raised to runbook floor P1")
    assert classify({"severity": "critical"}, Severity.P2)[0] == Severity.P0


def _alert(status: AlertStatus, **labels: str) -> Alert:
    return Alert(source="test", name="A", labels=labels, status=status, fingerprint="f",
                 received_at=datetime.now(UTC))


def test_the_most_severe_firing_alert_decides() -> None:
    alerts = [_alert(AlertStatus.FIRING, severity="warning"),
              _alert(AlertStatus.FIRING, severity="critical"),
              _alert(AlertStatus.RESOLVED, security="true")]  # resolved: not counted
    assert assess(TriageInput(incident_id="i", title="t", alerts=alerts, runbook=None))[0] == \
        Severity.P0
    assert "critical" in assess(TriageInput(incident_id="i", title="t", alerts=alerts,
                                            runbook=None))[1]


def test_security_and_legal_join_the_response_team_for_a_security_alert() -> None:
    plain = response_team(Severity.P2, [{"severity": "warning"}], ["checkout team lead"])
    assert plain == ["on-call engineer", "relevant team lead", "checkout team lead"]
    secure = response_team(Severity.P0, [{"security": "true"}], ["on-call engineer", "ciso"])
    assert secure == [*TABLE[Severity.P0].notify, *SECURITY_CIRCLE, "ciso"]
