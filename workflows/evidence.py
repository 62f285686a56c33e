"""Triage's investigation (seed 02 Phase 3, seed 04 "Investigation Methodology"): the
evidence request built from the alerts and the runbook, and what the timeline says of
the bundle. Deterministic: the collection itself is the ``collect_evidence`` activity."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.evidence.request import EvidenceRequest
    from remediator.models.alert import Alert, AlertStatus, common_labels
    from remediator.models.evidence import EvidenceSummary
    from remediator.models.runbook import Runbook
    from workflows.baseline import incident_began
    from workflows.detect import describe
    from workflows.saga import failure_message, occurrence
    from workflows.support.options import ActivityOptions, side_effect
    from workflows.support.timeline import Recorder

# The activity keeps its own budget (REMEDIATOR_EVIDENCE_BUDGET_SECONDS) and answers
# with what it has; these bound a worker that died while collecting (heartbeats).
EVIDENCE_TIMEOUT_SECONDS = 300
EVIDENCE_HEARTBEAT_SECONDS = 10


def evidence_options() -> ActivityOptions:
    return side_effect(EVIDENCE_TIMEOUT_SECONDS, attempts=3,
                       heartbeat_seconds=EVIDENCE_HEARTBEAT_SECONDS)


def evidence_request(incident_id: str, alerts: list[Alert], runbook: Runbook | None
                     ) -> EvidenceRequest:
    """What to read: the alerts' labels, rules and onset; the runbook's checks and targets."""
    firing = [a for a in alerts if a.status == AlertStatus.FIRING] or alerts
    labels = common_labels(firing)
    checks = runbook.verify.checks if runbook else []
    return EvidenceRequest(
        incident_id=incident_id, occurrence=occurrence(incident_id),
        service=describe(firing[0])[1], onset=incident_began(firing), labels=labels,
        generator_urls=sorted({a.generator_url for a in firing if a.generator_url})[:20],
        verify_queries=[c.query for c in checks if c.source == "prometheus" and c.query][:20],
        steps=[*runbook.steps, *runbook.fallback_steps] if runbook else [],
        environment=labels.get("environment") or labels.get("env") or "production")


async def record_evidence(rec: Recorder, handle: workflow.ActivityHandle[EvidenceSummary]
                          ) -> EvidenceSummary | None:
    """The bundle's summary and the suspect in the timeline; a failed collection is a note."""
    try:
        found = await handle
    except ActivityError as err:
        await rec.add("evidence.unavailable", f"no evidence bundle: {failure_message(err)}")
        return None
    lines = "; ".join(s.line() for s in found.sources)
    where = f" (bundle: {found.artefact})" if found.artefact else ""
    await rec.add("evidence.collected", f"{lines}{where}")
    await rec.add("investigation.suspect", found.suspect_line())
    return found
