"""Inputs, outputs and views of the incident and its five phase workflows."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field, field_validator

from workflows.alert_group_models import Recurrence
from workflows.approval_models import ApprovalPolicy
from workflows.comms_models import ActionItem, ClockProgress, CommsPolicy, Role
from workflows.models import (
    Alert,
    AlertStatus,
    Contract,
    IncidentStatus,
    MitigationStep,
    Phase,
    Runbook,
    Severity,
    StepOutcome,
    TimelineEntry,
    Verdict,
    VerifySpec,
)
from workflows.verify_models import Baseline, Resolution

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class Timings(Contract):
    """Every wait of the pipeline, in seconds, so tests can run in seconds."""

    verify_interval_seconds: float = Field(30.0, gt=0)
    verify_window_p0_p1_seconds: float = Field(900.0, ge=0)
    verify_window_p2_p3_seconds: float = Field(1800.0, ge=0)
    # How long one mitigation attempt may run before Temporal retries it elsewhere;
    # also how long a crashed worker's attempt is waited for.
    mitigation_timeout_seconds: float = Field(120.0, gt=0)
    # Baselines: the mean over ``lookback`` that ends ``gap`` before the first alert
    # started (the gap keeps the incident's build-up, e.g. an alert's ``for:``, out).
    baseline_lookback_seconds: float = Field(3600.0, gt=0)
    baseline_gap_seconds: float = Field(900.0, ge=0)

    def verify_window(self, severity: Severity) -> float:
        if severity in (Severity.P0, Severity.P1):
            return self.verify_window_p0_p1_seconds
        return self.verify_window_p2_p3_seconds


class Declaration(Contract):
    """A human opened the incident, with no alert (seed 05's user and team reports,
    seed 02's ``/incident-declare``)."""

    title: str = Field(min_length=1, max_length=256)
    service: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
    severity: Severity
    runbook: str | None = Field(default=None, min_length=1, max_length=128)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    by: str = Field(min_length=1, max_length=128)

    @field_validator("labels")
    @classmethod
    def _bounded(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            if not LABEL_NAME.match(key) or len(value) > 1024:
                raise ValueError(f"label {key[:40]!r}: names are [A-Za-z_][A-Za-z0-9_]* "
                                 "(at most 128), values at most 1024 characters")
        return labels


class IncidentInput(Contract):
    incident_id: str
    dry_run: bool = False
    # The alerts that opened it (incidents opened by an alert group); older incidents
    # got their first batch with the start signal instead.
    alerts: list[Alert] = Field(default_factory=list)
    group_key: str = ""
    # The AlertGroupWorkflow that opened it, told when the incident closes.
    group: str | None = None
    recurrence: Recurrence | None = None
    declared: Declaration | None = None
    # Set when an earlier run of this incident continued as new: it goes on from there.
    carried: IncidentCarry | None = None


class IncidentPolicy(Contract):
    """Worker-side configuration the incident needs, fetched by an activity."""

    timings: Timings = Field(default_factory=Timings)
    approvals: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    comms: CommsPolicy = Field(default_factory=CommsPolicy)
    dry_run: bool = False
    # A handed-over incident continues as new once its run's history passes this many
    # events (or the server suggests it), far below Temporal's 51,200-event limit.
    history_events_per_run: int = Field(10_000, ge=50, le=40_000)


class DetectInput(Contract):
    incident_id: str
    alerts: list[Alert]
    # Declared incidents: the runbook is named by the human (None: no runbook at all).
    declared: bool = False
    runbook_name: str | None = None


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
    # When given, baselines of these checks are captured before the first step.
    verify: VerifySpec | None = None
    began_at: datetime | None = None


class MitigateResult(Contract):
    outcomes: list[StepOutcome]
    baselines: list[Baseline] = Field(default_factory=list)


class VerifyInput(Contract):
    incident_id: str
    severity: Severity
    runbook: Runbook | None
    applied: list[StepOutcome]
    timings: Timings
    baselines: list[Baseline] = Field(default_factory=list)


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
    impact: str = ""
    went_well: list[str] = Field(default_factory=list)
    went_poorly: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    commander: str = ""
    review_at: datetime | None = None
    reviewed_by: str | None = None


class PostmortemRun(Contract):
    """Input of the postmortem phase: the first draft and how to follow it up."""

    doc: PostmortemInput
    comms: CommsPolicy
    review_at: datetime


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
    roles: dict[str, str] = Field(default_factory=dict)
    acknowledged_by: str | None = None
    dry_run: bool = False
    # Repeats that changed nothing (same alert, same status), counted, not recorded.
    duplicates: int = 0
    previous: str | None = None
    declared_by: str | None = None



class IncidentCarry(Contract):
    """A handed-over incident's state, from one run to the next (continue-as-new): all
    that ``status``, the comms clocks and the postmortem need, so that the runs read as
    one incident. ``alerts`` keeps at most the first ``MAX_CARRIED_ALERTS``."""

    opened: DetectResult
    opened_at: datetime
    phase: Phase
    status: IncidentStatus
    severity: Severity
    timeline: list[TimelineEntry]
    alert_statuses: dict[str, AlertStatus]
    alerts: list[Alert]
    steps: list[StepOutcome] = Field(default_factory=list)
    verdict: Verdict | None = None
    roles: dict[Role, str] = Field(default_factory=dict)
    acknowledged_by: str | None = None
    duplicates: int = 0
    dry_run: bool = False
    resolution: Resolution | None = None
    # Messages announced so far: message ids (idempotency keys) continue from here.
    messages_sent: int = 0
    clocks: ClockProgress = Field(default_factory=ClockProgress)
    # How many runs came before this one.
    runs: int = 1


MAX_CARRIED_ALERTS = 500
IncidentInput.model_rebuild()
