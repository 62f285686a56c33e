"""Communications nouns: sinks, messages, responder roles, and the comms policy."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from remediator.models.contract import Contract
from remediator.severity import (
    Severity,
    escalation_deadlines,
    escalation_matrix,
    review_deadlines,
    update_cadences,
)

ALL_SEVERITIES = [Severity.P0, Severity.P1, Severity.P2, Severity.P3]


class Audience(StrEnum):
    INTERNAL = "internal"
    CUSTOMER = "customer"


class SinkRef(Contract):
    """A notification sink as workflows see it: a name, never its URL or credentials."""

    name: str
    kind: Literal["slack", "email", "sns", "statuspage", "slack_channel"]
    severities: list[Severity] = Field(default_factory=lambda: list(ALL_SEVERITIES))
    audience: Audience = Audience.INTERNAL


class Message(Contract):
    """One message for one sink; ``message_id`` makes a retried send a no-op."""

    sink: str
    message_id: str
    incident_id: str
    kind: str
    subject: str
    text: str


class Role(StrEnum):
    INCIDENT_COMMANDER = "incident_commander"
    TECHNICAL_LEAD = "technical_lead"
    COMMUNICATIONS_LEAD = "communications_lead"
    SCRIBE = "scribe"


class RoleAssignment(Contract):
    role: Role
    user: str = Field(min_length=1, max_length=200)
    by: str = Field(default="", max_length=200)


class Acknowledgement(Contract):
    user: str = Field(min_length=1, max_length=200)


class CommsPolicy(Contract):
    """Cadences and escalation timings (seconds), sinks, and the on-call engineer.

    ``delivery_budget_seconds`` bounds each message's delivery to one sink, retries
    included: past it the send is recorded as failed and the incident goes on."""

    sinks: list[SinkRef] = Field(default_factory=list)
    oncall: str = "on-call engineer"
    delivery_budget_seconds: float = Field(600.0, gt=0)
    cadence_seconds: dict[Severity, float] = Field(default_factory=update_cadences)
    customer_cadence_seconds: float = 3600.0
    escalate_after_seconds: dict[Severity, float] = Field(default_factory=escalation_deadlines)
    page_again_seconds: float = 900.0
    # Seed 02's escalation matrix, as offsets from the incident's start.
    matrix: list[tuple[float, str, bool]] = Field(default_factory=escalation_matrix)
    review_due_seconds: dict[Severity, float] = Field(default_factory=review_deadlines)
    action_item_due_seconds: float = 7 * 86400.0

    def sinks_for(self, severity: Severity, audience: Audience) -> list[SinkRef]:
        return [s for s in self.sinks if severity in s.severities and s.audience == audience]
