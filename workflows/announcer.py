"""Fire-and-forget announcements: one notify activity per sink, never awaited inline.

Remediation does not wait for Slack or SMTP: each send runs with its own retries
while the incident goes on; ``drain`` gives outstanding sends a last chance before
the workflow completes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities
    from workflows.comms_models import Audience, CommsPolicy, Message
    from workflows.models import Severity
    from workflows.options import MESSAGES

SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


class Announcer:
    def __init__(self, incident_id: str, record: Callable[[str, str], None]) -> None:
        self._incident_id = incident_id
        self._record = record
        self._seq = 0
        self._sends: list[asyncio.Future[bool]] = []
        self.policy = CommsPolicy()

    def announce(self, kind: str, subject: str, text: str, severity: Severity,
                 audience: Audience = Audience.INTERNAL) -> None:
        """Send ``text`` to every sink configured for this severity and audience."""
        self._seq += 1
        sinks = self.policy.sinks_for(severity, audience)
        for sink in sinks:
            msg = Message(sink=sink.name, message_id=f"{self._incident_id}/{self._seq}-{kind}",
                          incident_id=self._incident_id, kind=kind, subject=subject, text=text)
            self._sends.append(workflow.start_activity_method(
                NotifyActivities.send_message, msg, start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(hours=1), retry_policy=SEND_RETRY,
                activity_id=f"notify/{self._seq}-{kind}/{sink.name}", priority=MESSAGES))
        names = ", ".join(s.name for s in sinks) or "no sink configured"
        self._record(f"notification.{kind}", f"{subject} → {names}")

    async def drain(self, seconds: float = 60.0) -> None:
        pending = [s for s in self._sends if not s.done()]
        if pending:
            await asyncio.wait(pending, timeout=seconds)
        for send in self._sends:
            if send.done() and not send.cancelled():
                send.exception()  # observed: a sink that gave up is not an incident failure
