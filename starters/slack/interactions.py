"""An Approve / Reject click on an approval card, turned into a signed decision.

The click is answered at once (Slack waits 3 s at most); the decision goes through the
incident's validated ``decide`` update, exactly as the CLI's and the HTTP API's do —
allow-list, no self-approval, plan hash, distinct approvers — signed for the approver
the Slack user maps to. Then the message is told through ``response_url``: the card
with who decided, or (to the clicker only) why the decision was refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.slack.cards import APPROVE, REJECT, ApprovalCard, CardState, blocks, summary
from activities.slack.store import CardStore
from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest
from starters.incidents import DecisionRefused, IncidentNotFound, Incidents
from workflows.approvals.models import ApprovalAnswer

log = structlog.get_logger()


class BadInteraction(ValueError):
    """The payload is not an approval click this server understands."""


class Click(BaseModel):
    """One approval click: who, which step of which incident, the plan hash shown."""

    model_config = ConfigDict(frozen=True)
    slack_user: str = Field(min_length=1, max_length=64)
    approve: bool
    incident_id: str = Field(min_length=1, max_length=64)
    step: str = Field(min_length=1, max_length=128)
    plan_hash: str = Field(min_length=1, max_length=64)
    response_url: str = Field(pattern=r"^https?://", max_length=2000)


def parse_click(body: bytes) -> Click:
    """The click in Slack's form-encoded ``payload``; BadInteraction if it is not one."""
    try:
        form = parse_qs(body.decode(), strict_parsing=True)
        payload: dict[str, Any] = json.loads(form["payload"][0])
        if payload.get("type") != "block_actions":
            raise BadInteraction(f"unsupported interaction type {payload.get('type')!r}")
        [action] = payload["actions"]
        if action.get("action_id") not in (APPROVE, REJECT):
            raise BadInteraction(f"unknown action {action.get('action_id')!r}")
        value = json.loads(action["value"])
        return Click(slack_user=payload["user"]["id"], approve=action["action_id"] == APPROVE,
                     incident_id=value["incident"], step=value["step"],
                     plan_hash=value["plan_hash"], response_url=payload["response_url"])
    except BadInteraction:
        raise
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError,
            ValidationError) as exc:
        raise BadInteraction(f"malformed interaction payload ({type(exc).__name__})") from None


class ClickDecider:
    """Decides a click for its approver and tells Slack the outcome."""

    def __init__(self, incidents: Incidents, cards: CardStore) -> None:
        self._incidents = incidents
        self._cards = cards

    async def decide(self, click: Click, approver: str, secret: str) -> None:
        request = sign(click.incident_id, ApprovalRequest(
            step=click.step, approver=approver, plan_hash=click.plan_hash,
            reason="", approve=click.approve, via="slack"), secret, datetime.now(UTC))
        try:
            answer = await self._incidents.decide(click.incident_id, request)
        except (DecisionRefused, IncidentNotFound) as exc:
            why = str(exc) if isinstance(exc, DecisionRefused) else f"no incident {exc}"
            log.info("slack.decision_refused", incident_id=click.incident_id, step=click.step,
                     approver=approver, why=why)
            await self._respond(click, {"response_type": "ephemeral", "replace_original": False,
                                        "text": f"Refused: {why}"})
            return
        log.info("slack.decided", incident_id=click.incident_id, step=click.step,
                 approver=approver, approve=click.approve, decided=answer.decided)
        await self._respond(click, await self._message(click, approver, answer))

    async def _message(self, click: Click, approver: str,
                       answer: ApprovalAnswer) -> dict[str, Any]:
        """The card as it stands after the decision (or a line, if no card is known)."""
        state: CardState = ("rejected" if not click.approve else
                            "approved" if answer.decided else "counted")
        by = [approver] if state == "rejected" else list(answer.approvals) if answer.decided else []
        posted = await self._cards.get(click.incident_id, click.step)
        if posted is None:
            return {"replace_original": False, "response_type": "in_channel",
                    "text": f"{click.incident_id} {click.step}: {answer.detail} "
                            f"(by {approver}, {len(answer.approvals)}/{answer.required})"}
        card: ApprovalCard = posted.card.model_copy(update={
            "state": state, "approvals": list(answer.approvals), "decided_by": by,
            "reason": ""})
        return {"replace_original": True, "text": summary(card), "blocks": blocks(card)}

    async def _respond(self, click: Click, message: dict[str, Any]) -> None:
        try:
            async with httpx.AsyncClient() as http:
                resp = await http.post(click.response_url, json=message, timeout=10.0)
            if not resp.is_success:
                log.warning("slack.response_failed", status=resp.status_code)
        except httpx.HTTPError as exc:
            log.warning("slack.response_failed", error=type(exc).__name__)
