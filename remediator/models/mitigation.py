"""A mitigation step, its risk, and the messages of its apply and undo activities."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from remediator.models.contract import Contract, Identifier
from remediator.models.guard import StepFinished


class RiskLevel(StrEnum):
    LOW = "low"
    RISKY = "risky"
    DANGEROUS = "dangerous"


class MitigationStep(Contract):
    """A runbook step: which action to run, with what parameters, at what risk."""

    id: str = Identifier
    action: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    risk: RiskLevel | None = None
    description: str = ""
    requested_by: str | None = None
    on_approval_timeout: Literal["escalate", "skip"] = "escalate"
    # Not applied again to its target within this long of the last time (any incident);
    # None: the guard's default (REMEDIATOR_GUARD_COOLDOWN_SECONDS).
    cooldown_seconds: float | None = Field(None, ge=0)


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
    # The fleet slot the step holds (since release-2026-12-n): the worker frees it as the
    # apply succeeds (``workers.slot_return``) and says so in ``slot_freed``.
    slot: StepFinished | None = None

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
    # Set by the worker, not the activity: the request's fleet slot is free already.
    slot_freed: bool = False


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
