"""Notification sinks: Slack-compatible incoming webhooks, email over SMTP, AWS SNS.

One activity call sends one message to one sink, so a failing sink is retried on
its own and never re-sends through the others. A sent message is marked in Redis by
its id, so a retry after a crash does not post it twice.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

import httpx
import redis.asyncio as aioredis
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.aws.clients import call
from activities.public_incidents import PublicSource
from activities.slack.channels import IncidentChannels
from activities.statuspage import Statuspage
from remediator.models.comms import Message
from remediator.settings import SinkConfig

log = structlog.get_logger()
SENT_TTL_SECONDS = 7 * 24 * 3600


def sent_marker(message_id: str, sink: str) -> str:
    """The Redis key that says ``message_id`` reached ``sink`` (a retry sends nothing)."""
    return f"remediator:sent:{message_id}:{sink}"


class NotifyActivities:
    def __init__(self, sinks: list[SinkConfig], http: httpx.AsyncClient,
                 redis_client: aioredis.Redis, sns: Any | None = None,
                 public: PublicSource | None = None,
                 channels: IncidentChannels | None = None) -> None:
        self._sinks = {s.name: s for s in sinks}
        self._http = http
        self._redis = redis_client
        self._sns_client = sns
        self._public = public
        self._statuspage = Statuspage(http, redis_client)
        self._channels = channels

    async def _slack(self, sink: SinkConfig, msg: Message) -> None:
        assert sink.url is not None, f"sink {sink.name} has no url"
        body = {"text": msg.text, "incident_id": msg.incident_id, "message_id": msg.message_id,
                "kind": msg.kind}
        # The webhook URL is the credential: no error may carry it (httpx's messages do)
        # into the logs or the workflow history, hence the bare messages and ``from None``.
        try:
            resp = await self._http.post(sink.url.get_secret_value(), json=body, timeout=10.0)
        except httpx.HTTPError as exc:
            raise ApplicationError(f"sink {sink.name}: {type(exc).__name__}") from None
        if not resp.is_success:
            status = resp.status_code
            final = 400 <= status < 500 and status not in (408, 429)  # revoked, malformed
            raise ApplicationError(f"sink {sink.name}: webhook answered HTTP {status}",
                                   non_retryable=final)

    async def _email(self, sink: SinkConfig, msg: Message) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = sink.sender, ", ".join(sink.recipients), msg.subject
        mail["Message-ID"] = f"<{msg.message_id}@remediator>"
        mail.set_content(msg.text)

        def send() -> None:
            with smtplib.SMTP(sink.smtp_host, sink.smtp_port, timeout=10) as smtp:
                smtp.send_message(mail)

        await asyncio.to_thread(send)

    async def _publish_sns(self, sink: SinkConfig, msg: Message) -> None:
        if self._sns_client is None or sink.topic_arn is None:
            raise ApplicationError(f"sink {sink.name}: SNS is not configured", non_retryable=True)
        await call(self._sns_client.publish, TopicArn=sink.topic_arn, Subject=msg.subject[:99],
                   Message=msg.text, MessageAttributes={
                       "message_id": {"DataType": "String", "StringValue": msg.message_id}})

    async def _publish_statuspage(self, sink: SinkConfig, msg: Message) -> None:
        """The incident's public state (not the message's text) to Atlassian Statuspage."""
        if self._public is None:
            raise ApplicationError(f"sink {sink.name}: no incident reader", non_retryable=True)
        await self._statuspage.publish(sink, await self._public(msg.incident_id))

    async def _incident_channel(self, sink: SinkConfig, msg: Message) -> None:
        if self._channels is None:
            raise ApplicationError(f"sink {sink.name}: no Slack bot token", non_retryable=True)
        await self._channels.post(msg)

    @activity.defn
    async def send_message(self, msg: Message) -> bool:
        """Deliver one message to one sink, once; False when it had already been sent."""
        sink = self._sinks.get(msg.sink)
        if sink is None:
            raise ApplicationError(f"no sink named {msg.sink!r}", non_retryable=True)
        marker = sent_marker(msg.message_id, sink.name)
        if await self._redis.exists(marker):
            return False
        await {"slack": self._slack, "email": self._email, "sns": self._publish_sns,
               "statuspage": self._publish_statuspage,
               "slack_channel": self._incident_channel}[sink.kind](sink, msg)
        await self._redis.set(marker, "1", ex=SENT_TTL_SECONDS)
        log.info("notification.sent", incident_id=msg.incident_id, sink=sink.name, kind=msg.kind,
                 message_id=msg.message_id)
        return True
