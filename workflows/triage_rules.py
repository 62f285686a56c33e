"""Triage's rules: an alert's labels → its severity, and who is notified.

The levels and their table are the core's (``remediator.severity``); these are the
seed rules that pick a level ("when in doubt, over-classify"; security is P0) and
widen the response team. Pure functions only: workflows call them.
"""

from __future__ import annotations

from remediator.severity import TABLE, Severity, more_severe

# Label values seen in the wild (Alertmanager, PagerDuty, Grafana), by level.
_LABEL_VALUES: dict[Severity, frozenset[str]] = {
    Severity.P0: frozenset({"p0", "sev1", "sev-1", "critical", "page", "emergency", "disaster"}),
    Severity.P1: frozenset({"p1", "sev2", "sev-2", "high", "error", "major"}),
    Severity.P2: frozenset({"p2", "sev3", "sev-3", "medium", "warning", "average", "moderate"}),
    Severity.P3: frozenset({"p3", "sev4", "sev-4", "low", "info", "minor", "cosmetic"}),
}
_SECURITY_LABELS = ("security", "data_breach", "breach")
_SEVERITY_LABELS = ("severity", "priority", "sev")

# Seed 03, Escalation: "involve security/legal for data or auth issues".
SECURITY_CIRCLE = ("security team", "legal")


def _is_security(labels: dict[str, str]) -> bool:
    if labels.get("category", "").lower() in {"security", "data-breach", "data_breach"}:
        return True
    return any(labels.get(key, "").lower() in {"true", "yes", "1"} for key in _SECURITY_LABELS)


def response_team(severity: Severity, alerts_labels: list[dict[str, str]],
                  runbook_notify: list[str]) -> list[str]:
    """Who is notified: the severity's circle (seed 04), security and legal for a
    security or data-breach alert (seed 03), then the runbook's own list."""
    team = list(TABLE[severity].notify)
    if any(_is_security(labels) for labels in alerts_labels):
        team += list(SECURITY_CIRCLE)
    return team + [n for n in runbook_notify if n not in team]


def classify(labels: dict[str, str], floor: Severity | None) -> tuple[Severity, str]:
    """Severity for one alert's labels, with the reason, by the seed rules.

    Security or data-breach alerts are P0. An unrecognised severity value is
    over-classified to P1 ("when in doubt, over-classify"); no severity label at
    all means P2. A runbook ``severity`` acts as a floor.
    """
    if _is_security(labels):
        return Severity.P0, "security/data-breach alert is automatically P0"
    raw = next((labels[k] for k in _SEVERITY_LABELS if k in labels), None)
    if raw is None:
        found, reason = Severity.P2, "no severity label: default P2"
    else:
        level = next((s for s, vals in _LABEL_VALUES.items() if raw.lower() in vals), None)
        if level is None:
            found, reason = Severity.P1, f"unknown severity {raw!r}: over-classified to P1"
        else:
            found, reason = level, f"label severity={raw!r} → {level} ({TABLE[level].sev})"
    if floor is not None and more_severe(floor, found) == floor and floor != found:
        return floor, f"{reason}; raised to runbook floor {floor}"
    return found, reason
