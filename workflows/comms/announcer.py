"""Fire-and-forget announcements: one notify activity per sink, never awaited inline.

Remediation does not wait for Slack or SMTP: each send runs with its own retries
while the incident goes on, within a delivery budget (``CommsPolicy.delivery_budget_seconds``,
schedule-to-close). A send that fails for good — out of budget, or refused — is recorded
in the timeline as ``notification.failed``; ``drain`` waits for the sends still in flight,
so a sink that never answers delays the end of the incident by one budget at most.
Finished sends are forgotten as new ones start, so a days-long incident keeps only the
sends in flight; ``sent`` numbers the messages (their ids are idempotency keys) and is
carried over when the incident continues as new, so no id is ever used twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import exceptions, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import RetryState

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities
    from remediator.models.comms import Audience, CommsPolicy, Message
    from remediator.severity import Severity
    from workflows.support.options import MESSAGES

SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# The worker pulses while a send runs (workers/heartbeats.py): a send cut short by a
# worker's death is retried seconds later, not when its 30 s attempt times out, so a long
# incident's run is not held past its history threshold waiting for it.
SEND_HEARTBEAT = timedelta(seconds=5)
# drain's timer is a backstop: the server ends every send within its budget; this grace
# covers the server's timeout latency, so a failure is recorded before the workflow ends.
DRAIN_GRACE_SECONDS = 60.0


@dataclass
class _Send:
    """One send: the activity, and the task that records its failure."""

    delivery: asyncio.Future[bool]
    outcome: asyncio.Task[None]
    budget: float


class Announcer:
    def __init__(self, incident_id: str, record: Callable[[str, str], None], sent: int = 0) -> None:
        self._incident_id = incident_id
        self._record = record
        self._seq = sent
        self._sends: list[_Send] = []
        self.policy = CommsPolicy()

    def announce(self, kind: str, subject: str, text: str, severity: Severity,
                 audience: Audience = Audience.INTERNAL) -> None:
        """Send ``text`` to every sink configured for this severity and audience."""
        self._seq += 1
        self._sends = [s for s in self._sends if not (s.delivery.done() and s.outcome.done())]
        sinks = self.policy.sinks_for(severity, audience)
        budget = self.policy.delivery_budget_seconds
        for sink in sinks:
            msg = Message(sink=sink.name, message_id=f"{self._incident_id}/{self._seq}-{kind}",
                          incident_id=self._incident_id, kind=kind, subject=subject, text=text)
            # Scheduled here, not inside the outcome task: the command keeps its place
            # among the workflow's commands, as recorded histories expect.
            delivery = workflow.start_activity_method(
                NotifyActivities.send_message, msg, start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=SEND_HEARTBEAT, schedule_to_close_timeout=timedelta(seconds=budget),
                retry_policy=SEND_RETRY,
                activity_id=f"notify/{self._seq}-{kind}/{sink.name}", priority=MESSAGES,
                summary=f"{kind} to {sink.name}: {subject}"[:200])
            self._sends.append(_Send(delivery, asyncio.create_task(self._outcome(delivery, msg,
                                                                                budget)), budget))
        names = ", ".join(s.name for s in sinks) or "no sink configured"
        self._record(f"notification.{kind}", f"{subject} → {names}")

    async def _outcome(self, delivery: asyncio.Future[bool], msg: Message, budget: float) -> None:
        """Record a send that failed for good; a sink that gave up is not an incident failure.

        Names the sink and the message, never the error's text: the sink's URL is a
        secret and the workflow history is no place for it."""
        try:
            await delivery
        except exceptions.ActivityError as err:
            # Out of budget shows as a timeout, or as the last attempt's error when the
            # server sees the next retry would end past the budget.
            out_of_budget = (err.retry_state == RetryState.TIMEOUT
                             or isinstance(err.cause, exceptions.TimeoutError))
            why = f"no delivery within its {budget:g} s budget" if out_of_budget \
                else "the sink refused it"
            self._record("notification.failed",
                         f"{msg.kind} (message {msg.message_id}) to sink {msg.sink}: {why}")

    @property
    def sent(self) -> int:
        """How many messages were announced so far (the last message number)."""
        return self._seq

    @property
    def idle(self) -> bool:
        """No send is in flight and every failure is recorded."""
        return all(s.delivery.done() and s.outcome.done() for s in self._sends)

    async def drain(self) -> None:
        """Wait for the sends in flight (each ends within its budget) and their outcomes."""
        pending = [s.delivery for s in self._sends if not s.delivery.done()]
        if pending:
            budget = max(s.budget for s in self._sends)
            await asyncio.wait(pending, timeout=budget + DRAIN_GRACE_SECONDS)
        # Outcomes of finished sends record without commands; await them so every
        # failure is in the timeline before the workflow completes.
        await asyncio.gather(*(s.outcome for s in self._sends if s.delivery.done()))
