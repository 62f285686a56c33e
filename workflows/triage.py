"""Triage: severity by the seed table, who is notified, the first announcement."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.models import AlertStatus, Phase, Severity
    from workflows.phase_models import TriageInput, TriageResult
    from workflows.severity import TABLE, classify, more_severe
    from workflows.timeline import Recorder


def assess(inp: TriageInput) -> tuple[Severity, str]:
    """The most severe classification among the firing alerts (over-classify)."""
    floor = inp.runbook.severity if inp.runbook else None
    firing = [a for a in inp.alerts if a.status == AlertStatus.FIRING] or inp.alerts
    graded = [classify(a.labels, floor) for a in firing]
    severity = graded[0][0]
    for level, _ in graded:
        severity = more_severe(severity, level)
    reason = next(reason for level, reason in graded if level == severity)
    return severity, reason


@workflow.defn
class TriageWorkflow:
    """Severity assigned and documented, response team named, initial alert sent."""

    @workflow.run
    async def run(self, inp: TriageInput) -> TriageResult:
        rec = Recorder(Phase.TRIAGE)
        severity, reason = assess(inp)
        level = TABLE[severity]
        await rec.add("severity.assigned", f"{severity} ({level.sev}, {level.name}): {reason}")
        notify = list(level.notify)
        if inp.runbook:
            notify += [n for n in inp.runbook.escalation.notify if n not in notify]
        await rec.add("team.assembled", ", ".join(notify))
        if severity in (Severity.P0, Severity.P1):
            await rec.add("roles.required", "Incident Commander, Technical Lead, "
                          "Communications Lead, Scribe (seed 04, step 4)")
        return TriageResult(severity=severity, reason=reason, notify=notify)
