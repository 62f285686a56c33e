"""What an incident knows, in one object the workflow shares with the parts it composes
(responders, the runs that carry it across continue-as-new): they read it and add to
its timeline; only the workflow changes its phase, status and severity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.alert import Alert, AlertStatus
    from remediator.models.evidence import EvidenceSummary
    from remediator.models.incident import IncidentStatus, Phase, TimelineEntry
    from remediator.models.mitigation import StepOutcome
    from remediator.models.verification import Verdict
    from remediator.severity import Severity
    from workflows.detect import DetectResult
    from workflows.incident_models import Resolution


@dataclass
class IncidentState:
    """One incident's record as of now (an incident that continued as new carries it)."""

    id: str
    opened_at: datetime
    phase: Phase = Phase.DETECT
    status: IncidentStatus = IncidentStatus.OPEN
    severity: Severity | None = None
    # What detect found (title, service, runbook, the worker's policy); None before.
    opened: DetectResult | None = None
    title: str = ""
    service: str = ""
    timeline: list[TimelineEntry] = field(default_factory=list)
    # fingerprint → last status, and every alert as it came.
    alerts: dict[str, AlertStatus] = field(default_factory=dict)
    all_alerts: list[Alert] = field(default_factory=list)
    steps: list[StepOutcome] = field(default_factory=list)
    verdict: Verdict | None = None
    postmortem: str | None = None
    resolution: Resolution | None = None
    dry_run: bool = False
    duplicates: int = 0
    # Which run of the incident this is (continue-as-new starts the next).
    runs: int = 1
    # What triage's investigation found (README "Evidence"); None before, or none.
    evidence: EvidenceSummary | None = None

    def record(self, kind: str, detail: str, phase: Phase | None = None,
               at: datetime | None = None) -> None:
        """Add a line to the timeline, in the current phase and at the current time unless
        told otherwise."""
        self.timeline.append(TimelineEntry(at=at or workflow.now(), kind=kind, detail=detail,
                                           phase=phase or self.phase))

    @property
    def level(self) -> Severity:
        """The severity, P2 until triage has set one."""
        return self.severity or Severity.P2
