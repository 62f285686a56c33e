"""Pydantic contracts for every message that crosses a workflow or activity boundary.

Nouns only: validation and small derived properties, no behaviour.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Severity and its table live in the core (remediator.severity); contracts name it from here.
from remediator.severity import Severity as Severity

Identifier = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class Contract(BaseModel):
    """Base for boundary models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


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
    """Input of every apply activity; ``key`` (the occurrence and the step) is its
    idempotency key."""

    incident_id: str
    step_id: str
    params: dict[str, Any]
    dry_run: bool = False
    # The occurrence, unique beyond one Temporal namespace (the incident's run): two
    # deployments sharing one Redis, or a dev stack started afresh, never share a key.
    occurrence: str = ""

    @property
    def key(self) -> str:
        return f"{self.occurrence or self.incident_id}:{self.step_id}"


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
    occurrence: str = ""

    @property
    def key(self) -> str:
        return f"{self.occurrence or self.incident_id}:{self.step_id}"


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


class CloudWatchMetric(Contract):
    """A CloudWatch metric and the statistic to read over each ``period_seconds``."""

    namespace: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = Field("Average", min_length=1)
    period_seconds: int = Field(60, ge=1)


class Check(Contract):
    """One verification criterion.

    ``redis_key``/``http`` read ``target`` (``expect`` is the healthy value or body text);
    ``kubernetes`` reads the Deployment ``target`` ("namespace/name"), healthy once its
    rollout is complete (every replica updated and available), as ``kubectl rollout status``.
    ``prometheus`` (a PromQL ``query`` yielding one series) and ``cloudwatch`` (a
    ``metric``) compare a number with a limit: ``comparison: below`` is healthy at or
    under it, ``above`` at or over it. The limit is ``threshold``, or
    ``relative_to_baseline`` × the pre-incident baseline (e.g. 1.1); with both, the
    more lenient one applies (the threshold is an allowance for a baseline near zero).
    """

    source: Literal["redis_key", "http", "kubernetes", "prometheus", "cloudwatch"]
    target: str | None = Field(default=None, min_length=1)
    expect: str | None = None
    query: str | None = Field(default=None, min_length=1)
    metric: CloudWatchMetric | None = None
    comparison: Literal["below", "above"] = "below"
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    relative_to_baseline: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @property
    def is_metric(self) -> bool:
        return self.source in ("prometheus", "cloudwatch")

    @property
    def label(self) -> str:
        """What the criterion reads, for the timeline."""
        if self.metric is not None:
            dims = ",".join(f"{k}={v}" for k, v in sorted(self.metric.dimensions.items()))
            return f"{self.metric.namespace}/{self.metric.name}{{{dims}}} {self.metric.stat}"
        return self.query or self.target or self.source

    @model_validator(mode="after")
    def _fields_fit_source(self) -> Self:
        needs = {"redis_key": "target", "http": "target", "kubernetes": "target",
                 "prometheus": "query", "cloudwatch": "metric"}[self.source]
        if getattr(self, needs) is None:
            raise ValueError(f"a {self.source} check needs {needs}")
        given = {f for f in ("target", "query", "metric") if getattr(self, f) is not None}
        if given - {needs}:
            raise ValueError(f"a {self.source} check takes {needs}, not {', '.join(sorted(given - {needs}))}")
        if self.source == "kubernetes" and (self.expect is not None or (self.target or "").count("/") != 1):
            raise ValueError("a kubernetes check takes target: namespace/deployment, no expect")
        limits = self.threshold is not None or self.relative_to_baseline is not None
        if self.is_metric and not limits:
            raise ValueError(f"a {self.source} check needs threshold and/or relative_to_baseline")
        if not self.is_metric and (limits or self.comparison != "below"):
            raise ValueError(f"a {self.source} check takes expect, not a threshold or comparison")
        if self.is_metric and self.expect is not None:
            raise ValueError(f"a {self.source} check compares numbers: use threshold, not expect")
        return self


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
    # Tried once when verification of ``steps`` fails (after they were undone).
    fallback_steps: list[MitigationStep] = Field(default_factory=list)
    verify: VerifySpec
    escalation: Escalation = Field(default_factory=Escalation)
    # Shadow mode for a new runbook: every step is planned (dry-run), nothing changes,
    # and the incident goes to humans with the plans in its timeline.
    dry_run: bool = False
    # Seed 04's runbook practices: "date-stamp and version runbooks", "link from alert
    # to runbook". ``url`` is the human-readable runbook; an alert's ``runbook_url``
    # annotation wins over it.
    version: str | None = Field(default=None, max_length=64)
    last_verified: date | None = None
    url: str | None = Field(default=None, max_length=2048)

    def provenance(self) -> str:
        """"runbook NAME vX, last verified DATE", as far as known."""
        parts = [f"runbook {self.name}"] + ([f"v{self.version}"] if self.version else [])
        verified = f", last verified {self.last_verified}" if self.last_verified else ""
        return " ".join(parts) + verified

    @model_validator(mode="after")
    def _fallback_follows_steps(self) -> Self:
        if self.fallback_steps and not self.steps:
            raise ValueError("fallback_steps need steps to fall back from")
        return self


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
