"""Triage: severity by the seed table, who is notified, the first announcement."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.evidence.collect import EvidenceActivities
    from remediator.models.alert import Alert, AlertStatus
    from remediator.models.contract import Contract
    from remediator.models.evidence import EvidenceSummary
    from remediator.models.incident import Phase
    from remediator.models.runbook import Runbook
    from remediator.severity import TABLE, Severity, more_severe
    from workflows.evidence import (
        check_recent_deploys,
        evidence_options,
        evidence_request,
        record_evidence,
    )
    from workflows.support.timeline import PhaseResult, Recorder
    from workflows.support.versions import patched
    from workflows.triage_rules import classify, response_team

# The evidence bundle, collected while triage runs (README "Evidence").
EVIDENCE = "evidence-bundle"
EVIDENCE_RELEASE = "release-2026-12"


class TriageInput(Contract):
    incident_id: str
    title: str
    alerts: list[Alert]
    runbook: Runbook | None
    # The incident reads the evidence and the recent deployments itself, beside its first
    # step (since release-2026-12-i); False: this phase reads them, as before.
    investigated: bool = False
    # The release that started this phase (as in its memo: ``versions.named``). Only for
    # workers of an earlier release, which refuse an unknown field: they never run a
    # phase on paths they do not know.
    release: str | None = None


class TriageResult(PhaseResult):
    severity: Severity
    reason: str
    notify: list[str]
    # What the investigation found (None: recorded before evidence bundles, or none).
    evidence: EvidenceSummary | None = None


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

    def __init__(self) -> None:
        self._rec = Recorder(Phase.TRIAGE)

    @workflow.run
    async def run(self, inp: TriageInput) -> TriageResult:
        return await self._rec.around(lambda: self._phase(inp))

    async def _phase(self, inp: TriageInput) -> TriageResult:
        rec = self._rec
        evidence = None
        if not inp.investigated and patched(EVIDENCE, since=EVIDENCE_RELEASE):  # meanwhile
            evidence = workflow.start_activity_method(
                EvidenceActivities.collect_evidence, evidence_request(inp.incident_id, inp.alerts,
                                                                      inp.runbook),
                **evidence_options(), summary="evidence: logs, metrics and deploys around the alert")
        severity, reason = assess(inp)
        level = TABLE[severity]
        await rec.add("severity.assigned", f"{severity} ({level.sev}, {level.name}): {reason}")
        notify = response_team(severity, [a.labels for a in inp.alerts],
                               inp.runbook.escalation.notify if inp.runbook else [])
        await rec.add("team.assembled", ", ".join(notify))
        if severity in (Severity.P0, Severity.P1):
            await rec.add("roles.required", "Incident Commander, Technical Lead, "
                          "Communications Lead, Scribe (seed 04, step 4)")
        if not inp.investigated:  # else the incident reads them, beside its first step
            await check_recent_deploys(rec.note, inp.alerts)
        found = await record_evidence(rec.note, evidence) if evidence is not None else None
        return TriageResult(severity=severity, reason=reason, notify=notify, evidence=found)
