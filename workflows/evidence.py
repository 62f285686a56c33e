"""Triage's investigation (seed 02 Phase 3, seed 04 "Investigation Methodology"): the
evidence request built from the alerts and the runbook, the recent deployments, and what
the timeline says of both. Deterministic: the reading itself is the ``collect_evidence``
and ``recent_rollouts`` activities. Run by the triage phase (incidents recorded before
release-2026-12-i) or by the incident beside its first step (``investigation``)."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.evidence.request import EvidenceRequest
    from activities.kubernetes.status import (
        KubeStatusActivities,
        RecentRollouts,
        RecentRolloutsRequest,
    )
    from remediator.models.alert import Alert, AlertStatus, common_labels
    from remediator.models.evidence import EvidenceSummary
    from remediator.models.runbook import Runbook
    from workflows.baseline import incident_began
    from workflows.detect import describe
    from workflows.saga import failure_message, occurrence
    from workflows.support.options import ActivityOptions, side_effect

# Adds a line to the timeline (a phase's ``Recorder.note``, or the incident's).
Note = Callable[[str, str], object]

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


async def record_evidence(note: Note, handle: workflow.ActivityHandle[EvidenceSummary]
                          ) -> EvidenceSummary | None:
    """The bundle's summary and the suspect in the timeline; a failed collection is a note."""
    try:
        found = await handle
    except ActivityError as err:
        note("evidence.unavailable", f"no evidence bundle: {failure_message(err)}")
        return None
    lines = "; ".join(s.line() for s in found.sources)
    where = f" (bundle: {found.artefact})" if found.artefact else ""
    note("evidence.collected", f"{lines}{where}")
    note("investigation.suspect", found.suspect_line())
    return found


def _summarise(found: RecentRollouts) -> str:
    parts = []
    for d in found.deployments:
        recent = [r for r in d.rollouts if r.created_at >= found.since]
        images = ", ".join(sorted({i for r in recent for i in r.images})) or "no new images"
        parts.append(f"{d.namespace}/{d.deployment}: {d.state}, revision {d.revision}, "
                     f"{len(recent)} rollout(s) since {found.since:%H:%M} UTC ({images})")
    return "; ".join(parts) or "no deployments found"


async def check_recent_deploys(note: Note, alerts: list[Alert]) -> None:
    """Seed 02/04: "check recent deployments (last 24 hours)", when the alert names a
    namespace; best effort, an unreachable cluster only leaves a note."""
    labels = alerts[0].labels
    if "namespace" not in labels:
        return
    request = RecentRolloutsRequest(namespace=labels["namespace"],
                                    deployment=labels.get("deployment"))
    try:
        found = await workflow.execute_activity_method(
            KubeStatusActivities.recent_rollouts, request, **side_effect(30, attempts=2),
            summary=f"recent deployments in {request.namespace} (last 24 h)")
    except ActivityError as err:
        note("investigation.recent_deploys", f"unavailable: {failure_message(err)}")
        return
    note("investigation.recent_deploys", _summarise(found))
