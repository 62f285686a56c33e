"""Worker-side configuration an incident runs with: its timings and its policies."""

from __future__ import annotations

from pydantic import Field

from remediator.models.approval import ApprovalPolicy
from remediator.models.comms import CommsPolicy
from remediator.models.contract import Contract
from remediator.severity import Severity


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
    # Safety rails: how long an incident waits for a target another incident holds, and
    # a step for a fleet slot, before humans take over (README "Safety rails").
    lock_wait_seconds: float = Field(300.0, ge=0)
    slot_wait_seconds: float = Field(300.0, ge=0)

    def verify_window(self, severity: Severity) -> float:
        if severity in (Severity.P0, Severity.P1):
            return self.verify_window_p0_p1_seconds
        return self.verify_window_p2_p3_seconds


class IncidentPolicy(Contract):
    """Worker-side configuration the incident needs, fetched by an activity."""

    timings: Timings = Field(default_factory=Timings)
    approvals: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    comms: CommsPolicy = Field(default_factory=CommsPolicy)
    dry_run: bool = False
    # A handed-over incident continues as new once its run's history passes this many
    # events (or the server suggests it), far below Temporal's 51,200-event limit.
    history_events_per_run: int = Field(10_000, ge=50, le=40_000)
