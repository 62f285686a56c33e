"""The approval card: what a step waiting for approval shows in Slack, as Block Kit.

One card per incident step. It is rendered from ``ApprovalCard`` alone, so whoever
updates the message (the worker when the incident decides, the webhook server when a
button was clicked) shows the same thing: the plan, its hash, the evidence, the buttons
while the step waits, and who decided once it has been decided.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from remediator.models.contract import Contract

APPROVE, REJECT = "approve", "reject"
CardState = Literal["waiting", "counted", "approved", "rejected"]
# Block Kit limits: a section's text is at most 3,000 characters.
MAX_TEXT = 2900


class ApprovalCard(Contract):
    """Everything the approval message says (no secrets: it goes to a chat channel)."""

    incident_id: str
    step_id: str
    action: str
    risk: str
    plan: str
    plan_hash: str
    requested_by: str | None = None
    required: int
    deadline: datetime
    # The incident so far, from its timeline (activities/slack/evidence.py).
    evidence: list[str] = Field(default_factory=list)
    # The evidence bundle's summary the request carries (PendingApproval.evidence): the
    # suspect change, then one line per source. Shown first when there is one.
    findings: list[str] = Field(default_factory=list)
    channel_link: str | None = None
    state: CardState = "waiting"
    approvals: list[str] = Field(default_factory=list)
    decided_by: list[str] = Field(default_factory=list)
    reason: str = ""


def button_value(card: ApprovalCard) -> str:
    """What a clicked button sends back: which step, and the plan it was shown."""
    return json.dumps({"incident": card.incident_id, "step": card.step_id,
                       "plan_hash": card.plan_hash}, separators=(",", ":"))


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(card: ApprovalCard) -> str:
    """The message's plain text (notifications, screen readers)."""
    return (f"{card.incident_id}: step {card.step_id} ({card.action}, {card.risk}) "
            f"{_state_line(card)}")


def _state_line(card: ApprovalCard) -> str:
    if card.state == "approved":
        return f"approved by {', '.join(card.decided_by)}: the step runs now"
    if card.state == "rejected":
        why = f": {card.reason}" if card.reason else ""
        return f"rejected by {', '.join(card.decided_by)}{why}: the step will not run"
    if card.state == "counted":
        return (f"approved by {', '.join(card.approvals)} ({len(card.approvals)}/"
                f"{card.required}): waiting for {card.required - len(card.approvals)} more")
    return f"waits for {card.required} approval(s)"


def _bullets(title: str, lines: list[str]) -> dict[str, Any]:
    """A section of bullet lines, within Block Kit's text limit."""
    text = "\n".join(f"• {line}" for line in lines)
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*{title}*\n{text}")}}


def blocks(card: ApprovalCard) -> list[dict[str, Any]]:
    """The card as Block Kit: buttons while the step can still be decided."""
    facts = (f"*Action* `{card.action}`   *Risk* {card.risk}   *Approvals* "
             f"{len(card.approvals)}/{card.required}   *Deadline* {card.deadline:%Y-%m-%d %H:%M} UTC")
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": _cut(f"Approval needed: {card.incident_id} · "
                                                 f"{card.step_id}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": _cut(f"*Plan*\n```{card.plan}```")}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(
            f"Plan hash `{card.plan_hash}`"
            + (f" · requested by {card.requested_by}" if card.requested_by else "")
            + (f" · channel {card.channel_link}" if card.channel_link else ""))}]},
    ]
    if card.findings:
        out.append(_bullets("Evidence", card.findings))
    if card.evidence:
        out.append(_bullets("Timeline" if card.findings else "Evidence", card.evidence))
    out.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(
        f"*Status* {_state_line(card)}")}})
    if card.state in ("waiting", "counted"):
        value = button_value(card)
        out.append({"type": "actions", "block_id": f"approval:{card.step_id}"[:255], "elements": [
            {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": REJECT, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": "Reject"},
             "confirm": {"title": {"type": "plain_text", "text": "Reject this step?"},
                         "text": {"type": "plain_text", "text": "The step will not run."},
                         "confirm": {"type": "plain_text", "text": "Reject"},
                         "deny": {"type": "plain_text", "text": "Cancel"}}},
        ]})
    return out
