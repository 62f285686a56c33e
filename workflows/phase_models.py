"""Inputs, outputs and views of the incident and its five phase workflows."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from workflows.approval_models import ApprovalPolicy
from workflows.models import (
    Alert,
    Contract,
    IncidentStatus,
    MitigationStep,
    Phase,
    Runbook,
    Severity,
    StepOutcome,
    TimelineEntry,
    Verdict,
)


class Timings(Contract):
    """Every wait of the pipeline, in seconds, so tests can run in seconds."""

    verify_interval_seconds: float = Field(30.0, gt=0)
    verify_window_p0_p1_seconds: float = Field(900.0, ge=0)
    verify_window_p2_p3_seconds: float = Field(1800.0, ge=0)
    # How long one mitigation attempt may run before Temporal retries it elsewhere;
    # also how long a crashed worker's attempt is waited for.
    mitigation_timeout_seconds: float = Field(120.0, gt=0)

    def verify_window(self, severity: Severity) -> float:
        if severity in (Severity.P0, Severity.P1):
            return self.verify_window_p0_p1_seconds
        return self.verify_window_p2_p3_seconds


class IncidentInput(Contract):
    incident_id: str
    dry_run: bool = False


class IncidentPolicy(Contract):
    """Worker-side configuration the incident needs, fetched by an activity."""

    timings: Timings = Field(default_factory=Timings)
    approvals: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    dry_run: bool = False


class DetectInput(Contract):
    incident_id: str
    alerts: list[Alert]


class DetectResult(Contract):
    title: str
    service: str
    primary: Alert
    alerts: list[Alert]
    runbook: Runbook | None
    policy: IncidentPolicy


class TriageInput(Contract):
    incident_id: str
    title: str
    alerts: list[Alert]
    runbook: Runbook | None


class TriageResult(Contract):
    severity: Severity
    reason: str
    notify: list[str]


class MitigateInput(Contract):
    incident_id: str
    severity: Severity
    steps: list[MitigationStep]
    timings: Timings
    approvals: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    environment: str = "production"
    owner: str | None = None
    dry_run: bool = False


class MitigateResult(Contract):
    outcomes: list[StepOutcome]


class VerifyInput(Contract):
    incident_id: str
    severity: Severity
    runbook: Runbook | None
    applied: list[StepOutcome]
    timings: Timings


class VerifyResult(Contract):
    verdict: Verdict
    undone: list[StepOutcome]
    severity: Severity


class PostmortemInput(Contract):
    incident_id: str
    title: str
    service: str
    severity: Severity
    status: IncidentStatus
    opened_at: datetime
    closed_at: datetime
    alerts: list[Alert]
    steps: list[StepOutcome]
    verdict: Verdict | None
    timeline: list[TimelineEntry]
    root_cause: str = ""
    five_whys: list[str] = Field(default_factory=list)


class PostmortemResult(Contract):
    path: str
    markdown: str


class IncidentView(Contract):
    """What ``GET /v1/incidents/{id}`` and ``remediator status`` show."""

    id: str
    status: IncidentStatus
    phase: Phase
    severity: Severity | None
    title: str
    service: str
    runbook: str | None
    alerts: int
    timeline: list[TimelineEntry]
    steps: list[StepOutcome]
    verdict: Verdict | None
    postmortem: str | None

