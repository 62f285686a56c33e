"""Pydantic contracts for every message that crosses a workflow or activity boundary.

Nouns only: validation and small derived properties, no behaviour.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Identifier = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class Contract(BaseModel):
    """Base for boundary models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Severity(StrEnum):
    """Incident priority; P0 is the most severe. See ``workflows.severity`` for the table."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Phase(StrEnum):
    DETECT = "detect"
    TRIAGE = "triage"
    MITIGATE = "mitigate"
    VERIFY = "verify"
    POSTMORTEM = "postmortem"
    DONE = "done"


class IncidentStatus(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    AWAITING_APPROVAL = "awaiting_approval"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    FAILED = "failed"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class RiskLevel(StrEnum):
    LOW = "low"
    RISKY = "risky"
    DANGEROUS = "dangerous"


class Alert(Contract):
    """One alert, normalised from whichever source sent it."""

    source: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=256)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    status: AlertStatus = AlertStatus.FIRING
    fingerprint: str = Field(min_length=1, max_length=128)
    starts_at: datetime | None = None
    received_at: datetime


class AlertBatch(Contract):
    """Alerts of one group delivered together (the payload of the ``alerts`` signal)."""

    group_key: str
    alerts: list[Alert] = Field(min_length=1)


class TimelineEntry(Contract):
    """One line of the incident record, in UTC."""

    at: datetime
    kind: str
    detail: str
    phase: Phase | None = None


class MitigationStep(Contract):
    """A runbook step: which action to run, with what parameters, at what risk."""

    id: str = Identifier
    action: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    risk: RiskLevel | None = None
    description: str = ""
    requested_by: str | None = None
    on_approval_timeout: Literal["escalate", "skip"] = "escalate"


class MitigationRequest(Contract):
    """Input of every apply activity; (incident_id, step_id) is the idempotency key."""

    incident_id: str
    step_id: str
    params: dict[str, Any]
    dry_run: bool = False


class MitigationResult(Contract):
    """What an apply activity did (or would do) and what its undo needs."""

    step_id: str
    action: str
    applied: bool
    dry_run: bool = False
    detail: str
    undo: dict[str, Any] | None = None


class UndoRequest(Contract):
    incident_id: str
    step_id: str
    undo: dict[str, Any]


class UndoResult(Contract):
    step_id: str
    undone: bool
    conflict: bool = False
    detail: str


class StepOutcome(Contract):
    """A step as the incident saw it: applied, skipped, failed, or undone."""

    step_id: str
    action: str
    risk: RiskLevel
    state: Literal["applied", "dry_run", "skipped", "rejected", "failed", "undone", "undo_conflict"]
    detail: str
    undo: dict[str, Any] | None = None
    undo_action: str | None = None


class Check(Contract):
    """One verification criterion. ``expect`` is the healthy value for ``redis_key``."""

    source: Literal["redis_key", "http"]
    target: str = Field(min_length=1)
    expect: str | None = None


class VerifySpec(Contract):
    checks: list[Check] = Field(min_length=1)
    window_seconds: float | None = Field(default=None, ge=0)
    interval_seconds: float | None = Field(default=None, gt=0)


class Escalation(Contract):
    notify: list[str] = Field(default_factory=list)
    on_verify_failure: Literal["undo_and_escalate", "escalate_only"] = "undo_and_escalate"


class Runbook(Contract):
    """A runbook as data: which alerts it matches and what the incident does."""

    name: str = Identifier
    description: str = ""
    owner: str | None = None
    match: dict[str, str] = Field(min_length=1)
    severity: Severity | None = None
    steps: list[MitigationStep] = Field(default_factory=list)
    verify: VerifySpec
    escalation: Escalation = Field(default_factory=Escalation)


class CheckResult(Contract):
    check: Check
    healthy: bool
    observed: str
    at: datetime


class Verdict(Contract):
    passed: bool
    detail: str
    checks: list[CheckResult] = Field(default_factory=list)
    window_started_at: datetime | None = None
    window_ended_at: datetime | None = None
