"""Messages between the incident and its mitigate phase about a waiting step, and
the answer a caller gets."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from remediator.models.approval import ApprovalRequest
from remediator.models.contract import Contract
from remediator.models.mitigation import RiskLevel

EVIDENCE_CHARS = 4000


def clipped(evidence: str) -> str:
    """Evidence text within what an approval request carries."""
    return evidence if len(evidence) <= EVIDENCE_CHARS else evidence[: EVIDENCE_CHARS - 1] + "…"


class PendingApproval(Contract):
    """A step waiting for a decision: exactly what will run, and who said yes so far."""

    step_id: str
    action: str
    risk: RiskLevel
    plan: str
    plan_hash: str
    requested_by: str | None
    required: int
    approvals: list[str] = Field(default_factory=list)
    deadline: datetime
    # What triage found (README "Evidence"): the suspect change and one line per
    # source, for the approver to read before saying yes. Not part of the plan hash.
    evidence: str = Field("", max_length=EVIDENCE_CHARS)


class ApprovalAnswer(Contract):
    step: str
    accepted: bool
    approvals: list[str]
    required: int
    decided: bool
    detail: str


class StepDecision(Contract):
    """What the incident tells the mitigate phase once a step is decided.

    ``proofs`` are the signed decisions it rests on: the phase re-checks them against the
    step's whole policy (and their signatures) before it acts, whoever delivered them.
    """

    step_id: str
    approved: bool
    by: list[str]
    reason: str
    proofs: list[ApprovalRequest] = Field(default_factory=list)
