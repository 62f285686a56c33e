"""A runbook as data: what it matches, its steps, and the criteria that verify them."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import Field, model_validator

from remediator.models.contract import Contract, Identifier
from remediator.models.mitigation import MitigationStep
from remediator.severity import Severity


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
    # How long an incident of this runbook waits for a target another incident holds
    # before handing over; None: REMEDIATOR_GUARD_LOCK_WAIT_SECONDS.
    lock_wait_seconds: float | None = Field(None, ge=0)
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
