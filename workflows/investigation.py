"""Triage's investigation, read beside the first step (since release-2026-12-i).

The evidence bundle answers within its budget (30 s) and the recent deployments within
theirs; a source that hangs for the whole budget used to hold the first mitigation back
that long, since triage ended only once both were in. Now the incident reads them while
triage runs and goes on: a step waits for them only where it needs what they find — a
rollback to the revision before the suspect, an approval request (its card shows the
evidence). The postmortem, and a hand-over that may continue as new, wait for them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import workflow

from workflows.support.versions import patched

with workflow.unsafe.imports_passed_through():
    from activities.evidence.collect import EvidenceActivities
    from activities.kubernetes.rollback import BEFORE_SUSPECT
    from remediator.models.approval import ApprovalPolicy
    from remediator.models.evidence import EvidenceSummary
    from remediator.models.incident import Phase
    from remediator.models.mitigation import MitigationStep
    from remediator.severity import Severity
    from workflows.approvals.gate import approvals_needed
    from workflows.detect import DetectResult
    from workflows.evidence import (
        check_recent_deploys,
        evidence_options,
        evidence_request,
        record_evidence,
    )
    from workflows.incident_state import IncidentState
    from workflows.support.options import CRITICAL_PATH

BESIDE_THE_FIRST_STEP = "investigation-beside-the-first-step"
BESIDE_RELEASE = "release-2026-12-i"


def needs_evidence(steps: list[MitigationStep], approvals: ApprovalPolicy, severity: Severity,
                   environment: str, dry_run: bool) -> bool:
    """Whether a step of ``steps`` uses what the investigation finds: a rollback to the
    revision before the suspect (planned in a dry run too), or a step that will ask for
    approval at this severity (the request shows the evidence). The phase raises the
    severity only while a step waits for approval, so a plan that asks for none at the
    start asks for none later."""
    for step in steps:
        if step.params.get("to_revision") == BEFORE_SUSPECT:
            return True
        if dry_run:
            continue
        try:
            _, required = approvals_needed(step, approvals, severity, environment)
        except ValueError:  # validated with the runbook; whatever the phase makes of it, later
            return True
        if required > 0:
            return True
    return False


class Investigation:
    """The evidence bundle and the recent deployments of one incident, read beside its
    phases; what they find goes to the incident's timeline (as triage's) and to
    ``found``, as soon as it is in."""

    def __init__(self, incident: IncidentState, opened: DetectResult,
                 found: Callable[[EvidenceSummary], None]) -> None:
        self._incident = incident
        self._found = found
        self._task = asyncio.create_task(self._read(opened))

    @staticmethod
    def beside_the_first_step() -> bool:
        """Whether this incident reads them itself (else its triage phase does)."""
        return patched(BESIDE_THE_FIRST_STEP, since=BESIDE_RELEASE)

    async def done(self) -> None:
        """Wait until both are in (each within its own budget; a failure is a note)."""
        await self._task

    async def _read(self, opened: DetectResult) -> None:
        incident = self._incident
        evidence = workflow.start_activity_method(
            EvidenceActivities.collect_evidence,
            evidence_request(incident.id, opened.alerts, opened.runbook),
            **evidence_options(), priority=CRITICAL_PATH,
            summary="evidence: logs, metrics and deploys around the alert")
        await check_recent_deploys(self._note, opened.alerts)
        found = await record_evidence(self._note, evidence)
        if found is not None:
            self._found(found)

    def _note(self, kind: str, detail: str) -> None:
        self._incident.record(kind, detail, phase=Phase.TRIAGE)
