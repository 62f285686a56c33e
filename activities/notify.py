"""Notifications to responders: Slack-compatible incoming webhooks, and the log.

A failing sink is retried by Temporal but never blocks remediation: callers run
this activity with its own timeout and carry on when it gives up.
"""

from __future__ import annotations

import httpx
import structlog
from temporalio import activity

from workflows.models import Contract, Severity

log = structlog.get_logger()


class Notification(Contract):
    incident_id: str
    kind: str
    severity: Severity
    title: str
    text: str


class NotifyActivities:
    def __init__(self, http: httpx.AsyncClient, webhook_urls: list[str]) -> None:
        self._http = http
        self._webhooks = webhook_urls

    @activity.defn
    async def post_update(self, note: Notification) -> None:
        """Post one message to every configured sink (webhook URLs are never logged)."""
        text = f"[{note.severity}] {note.kind.upper()}: {note.title}\n{note.text}"
        log.info("notification.sent", incident_id=note.incident_id, kind=note.kind,
                 severity=note.severity, sinks=len(self._webhooks))
        for url in self._webhooks:
            resp = await self._http.post(url, json={"text": text}, timeout=10.0)
            resp.raise_for_status()
