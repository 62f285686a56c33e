"""Approval requests in chat: the desk posts each waiting step's card and shows each
accepted decision on it, whoever delivered the decision (Slack button, CLI, HTTP).

Fire and forget, like every message: a chat that is down never holds up a step; a
card that could not be posted or updated is recorded once and the incident goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.slack.approvals import (
        ApprovalOutcome,
        ApprovalPost,
        SlackApprovalActivities,
    )
    from activities.slack.cards import CardState
    from workflows.approvals.models import PendingApproval
    from workflows.support.options import MESSAGES
    from workflows.support.versions import patched

# Added after incidents were recorded: their histories hold no chat activities.
CHAT_CHANGE = "slack-approval-cards"
CHAT_RELEASE = "release-2026-12"
CHAT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                         maximum_interval=timedelta(seconds=30))
CHAT_BUDGET = timedelta(minutes=10)


class ApprovalChat:
    def __init__(self, incident_id: str, record: Callable[[str, str], None]) -> None:
        self._incident_id = incident_id
        self._record = record

    @staticmethod
    def enabled(chat: bool) -> bool:
        return chat and patched(CHAT_CHANGE, since=CHAT_RELEASE)

    def requested(self, pending: PendingApproval) -> None:
        """Post (or refresh) the step's card with its buttons."""
        post = ApprovalPost(
            incident_id=self._incident_id, step_id=pending.step_id, action=pending.action,
            risk=str(pending.risk), plan=pending.plan, plan_hash=pending.plan_hash,
            requested_by=pending.requested_by, required=pending.required,
            approvals=list(pending.approvals), deadline=pending.deadline,
            evidence=pending.evidence)
        self._start(SlackApprovalActivities.post_approval_request, post, pending.step_id,
                    f"Slack: approval card of step {pending.step_id}")

    def decided(self, pending: PendingApproval, state: CardState, by: list[str],
                reason: str) -> None:
        """Show an accepted decision on the step's card."""
        outcome = ApprovalOutcome(incident_id=self._incident_id, step_id=pending.step_id,
                                  state=state, approvals=list(pending.approvals),
                                  decided_by=by, reason=reason)
        self._start(SlackApprovalActivities.update_approval_message, outcome, pending.step_id,
                    f"Slack: step {pending.step_id} {state} on its card")

    def _start(self, method: Any, arg: object, step_id: str, summary: str) -> None:
        handle = workflow.start_activity_method(
            method, arg, start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=CHAT_BUDGET, retry_policy=CHAT_RETRY, priority=MESSAGES,
            summary=summary)

        def failed(done: Any) -> None:
            if not done.cancelled() and done.exception() is not None:
                self._record("notification.failed",
                             f"approval card of step {step_id} to Slack: not delivered")

        handle.add_done_callback(failed)
