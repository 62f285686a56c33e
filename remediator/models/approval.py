"""Approval nouns: the policy a risky step's decision must meet, and a signed decision."""

from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field

from remediator.models.contract import Contract
from remediator.models.mitigation import RiskLevel
from remediator.severity import Severity, approval_deadlines


class ApprovalRule(Contract):
    """``approvals`` distinct approvers for steps of ``risk`` in matching environments."""

    risk: RiskLevel
    environments: list[str] = Field(default_factory=lambda: ["*"])
    severities: list[Severity] = Field(default_factory=lambda: list(Severity))
    approvals: int = Field(ge=0, le=5)


# An allow-list entry ``group:NAME`` admits the members of group NAME; nobody is called that.
GROUP_PREFIX = "group:"


def group_name_refusal(name: str) -> str | None:
    """Why ``name`` cannot decide as a person (it names an allow-list group), or None."""
    if name.strip().lower().startswith(GROUP_PREFIX):
        return (f"{name!r} names an approver group, not a person: decide as one of the "
                "group's members")
    return None


DEFAULT_RULES = [
    ApprovalRule(risk=RiskLevel.LOW, approvals=0),
    ApprovalRule(risk=RiskLevel.RISKY, environments=["prod", "production", "prod-*"], approvals=1),
    ApprovalRule(risk=RiskLevel.RISKY, approvals=0),
    ApprovalRule(risk=RiskLevel.DANGEROUS, approvals=2),
]


class ApprovalPolicy(Contract):
    """Who may approve (users, and ``group:NAME`` entries) and how many approvals a step needs."""

    approvers: list[str] = Field(default_factory=list)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[ApprovalRule] = Field(default_factory=lambda: list(DEFAULT_RULES))
    # Seed 04's response times: a decision is due within the severity's response time.
    deadline_seconds: dict[Severity, float] = Field(default_factory=approval_deadlines)
    # Post each request to chat (Slack, with Approve / Reject buttons) and keep the
    # message up to date with its decision: a Slack app is configured on the worker.
    chat: bool = False

    def required(self, risk: RiskLevel, severity: Severity, environment: str) -> int:
        for rule in self.rules:
            if rule.risk == risk and severity in rule.severities and any(
                fnmatchcase(environment, env) for env in rule.environments
            ):
                return rule.approvals
        return 2 if risk == RiskLevel.DANGEROUS else 1  # no rule: stay on the safe side

    def may_approve(self, user: str) -> bool:
        """Whether ``user`` is on the allow-list by name or as a member of a listed group.
        A ``group:NAME`` entry admits the group's members only: it never matches as a
        user name, and nobody whose name starts with ``group:`` may approve."""
        if group_name_refusal(user) is not None:
            return False
        for entry in self.approvers:
            if entry.startswith(GROUP_PREFIX):
                if user in self.groups.get(entry.removeprefix(GROUP_PREFIX), []):
                    return True
            elif entry == user:
                return True
        return False


class ApprovalSignal(Contract):
    """Payload of the ``approve`` / ``reject`` signals (also usable from the Temporal CLI).

    ``signature`` proves the approver: HMAC-SHA256, keyed with the approver's API token,
    over the incident, step, plan hash, decision, reason and ``issued_at`` (see
    ``remediator.approval_proof``; ``remediator sign-decision`` prints one). The worker
    checks it in an activity, so no secret enters a workflow history.
    """

    step: str = Field(min_length=1, max_length=128)
    approver: str = Field(min_length=1, max_length=200)
    plan_hash: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=2000)
    issued_at: datetime | None = None
    signature: str | None = Field(default=None, max_length=128)


class ApprovalRequest(ApprovalSignal):
    """Payload of the ``decide`` update: approve or reject, answered at once."""

    approve: bool = True
    # Which starter delivered it (audit only; not proof of anything).
    via: Literal["http", "cli", "slack"] | None = None


class ProofCheck(Contract):
    """Ask the worker whether signed decisions are authentic (activity input)."""

    incident_id: str
    path: str
    decisions: list[ApprovalRequest]
