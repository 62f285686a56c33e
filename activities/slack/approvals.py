"""Approval requests in Slack: post the card, and keep it up to date with its decision.

The incident's approval desk starts these (fire and forget: chat never holds up a
step). A card is keyed by incident and step; a step asked again (its deadline passed,
the severity rose) updates the same message instead of posting another.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.slack.api import SlackApi
from activities.slack.cards import ApprovalCard, CardState, blocks, summary
from activities.slack.evidence import Evidence
from activities.slack.store import CardStore, PostedCard
from remediator.models.contract import Contract

log = structlog.get_logger()


class ApprovalPost(Contract):
    """A step waits for approval: what its card shows (activity input)."""

    incident_id: str
    step_id: str
    action: str
    risk: str
    plan: str
    plan_hash: str
    requested_by: str | None = None
    required: int
    approvals: list[str]
    deadline: datetime
    # The request's evidence (PendingApproval.evidence): the suspect, one line per source.
    evidence: str = ""


class ApprovalOutcome(Contract):
    """A decision the incident accepted on a step (activity input)."""

    incident_id: str
    step_id: str
    state: CardState
    approvals: list[str]
    decided_by: list[str]
    reason: str = ""


class SlackApprovalActivities:
    def __init__(self, api: SlackApi | None, store: CardStore, channel: str | None,
                 evidence: Evidence) -> None:
        self._api = api
        self._store = store
        self._channel = channel
        self._evidence = evidence

    def _slack(self) -> SlackApi:
        if self._api is None or not self._channel:
            raise ApplicationError("Slack is not configured on this worker (bot token, channel)",
                                   non_retryable=True)
        return self._api

    @activity.defn
    async def post_approval_request(self, post: ApprovalPost) -> str:
        """Post the step's card with Approve / Reject (or refresh the one already posted);
        returns the message's ts."""
        api = self._slack()
        own = await self._store.channel_of(post.incident_id)
        card = ApprovalCard(**post.model_dump(exclude={"evidence"}),
                            evidence=await self._evidence(post.incident_id),
                            findings=post.evidence.splitlines(),
                            channel_link=f"<#{own}>" if own else None)
        posted = await self._store.get(post.incident_id, post.step_id)
        if posted is not None:
            await api.update(posted.channel, posted.ts, summary(card), blocks(card))
            await self._store.put(posted.model_copy(update={"card": card}))
            return posted.ts
        assert self._channel is not None
        channel, ts = await api.post(self._channel, summary(card), blocks(card))
        await self._store.put(PostedCard(channel=channel, ts=ts, card=card))
        log.info("slack.approval_posted", incident_id=post.incident_id, step=post.step_id,
                 channel=channel, ts=ts)
        return ts

    @activity.defn
    async def update_approval_message(self, outcome: ApprovalOutcome) -> None:
        """Show the decision on the step's card (who decided, and what happens now)."""
        api = self._slack()
        posted = await self._store.get(outcome.incident_id, outcome.step_id)
        if posted is None:  # the post may still be on its way: retried
            raise ApplicationError(f"no approval message for {outcome.step_id} yet")
        card = posted.card.model_copy(update={
            "state": outcome.state, "approvals": outcome.approvals,
            "decided_by": outcome.decided_by, "reason": outcome.reason})
        await api.update(posted.channel, posted.ts, summary(card), blocks(card))
        await self._store.put(posted.model_copy(update={"card": card}))
        log.info("slack.approval_updated", incident_id=outcome.incident_id,
                 step=outcome.step_id, state=outcome.state)
