"""Triage: severity by the seed table, who is notified, the first announcement."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notification, NotifyActivities
    from workflows.models import AlertStatus, Phase, Severity
    from workflows.options import side_effect
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
        await rec.add("team.notified", ", ".join(notify))
        await workflow.execute_activity_method(
            NotifyActivities.post_update,
            Notification(incident_id=inp.incident_id, kind="initial", severity=severity,
                         title=inp.title, text=f"{reason}. Responders: {', '.join(notify)}"),
            **side_effect(30),
        )
        return TriageResult(severity=severity, reason=reason, notify=notify)
