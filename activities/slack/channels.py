"""Incident channels (seed 02: ``#incident-YYYY-MM-DD-NNNN``): made on an incident's first
message, its responders invited, and every message of the incident posted there.

Idempotent across workers and retries: the channel is found by name when it exists
(``conversations.create`` answers ``name_taken``), and its id is kept in Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
import structlog
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.slack.api import SlackApi
from remediator.models.comms import Message
from remediator.models.incident_number import channel_name

log = structlog.get_logger()
CHANNEL_TTL_SECONDS = 120 * 86_400
IncidentReader = Callable[[str], Awaitable[dict[str, Any]]]


def reader_of(client: Client) -> IncidentReader:
    """The incident's ``status`` query, untyped (activities import no workflows)."""

    async def read(incident_id: str) -> dict[str, Any]:
        view = await client.get_workflow_handle(incident_id).query(
            "status", rpc_timeout=timedelta(seconds=5))
        return view if isinstance(view, dict) else {}

    return read


def channel_key(incident_id: str) -> str:
    return f"remediator:slack:channel:{incident_id}"  # read by CardStore.channel_of too


class IncidentChannels:
    def __init__(self, api: SlackApi, redis_client: aioredis.Redis, slack_ids: dict[str, str],
                 oncall: str, read: IncidentReader) -> None:
        self._api = api
        self._redis = redis_client
        self._slack_ids = slack_ids  # remediator user → Slack user id
        self._oncall = oncall
        self._read = read

    async def post(self, msg: Message) -> str:
        """Post ``msg`` in the incident's channel (made and staffed first); its id."""
        channel = await self.ensure(msg.incident_id)
        posted, ts = await self._api.post(channel, f"*{msg.subject}*\n{msg.text}")
        if msg.kind == "initial":
            await self._pin(msg.incident_id, posted, ts)
        return channel

    async def _pin(self, incident_id: str, channel: str, ts: str) -> None:
        """Seed 04, step 5: "Pin the initial assessment and severity level." The message
        is delivered either way: a pin Slack refuses (the app lacks ``pins:write``) is
        logged, and the send does not fail (its retry would post the alert again)."""
        try:
            await self._api.pin(channel, ts)
        except ApplicationError as exc:
            log.warning("slack.pin_failed", incident_id=incident_id, channel=channel,
                        error=str(exc))

    async def ensure(self, incident_id: str) -> str:
        known = await self._redis.get(channel_key(incident_id))
        if known is not None:
            return known.decode() if isinstance(known, bytes) else str(known)
        view = await self._read(incident_id)
        timeline = view.get("timeline") or []
        opened = datetime.fromisoformat(str(timeline[0]["at"])) if timeline else None
        name = channel_name(incident_id, opened.date()) if opened else None
        if name is None:
            raise ApplicationError(f"no incident channel for {incident_id}", non_retryable=True)
        channel = await self._api.channel_named(name)
        people = {self._oncall, *(view.get("roles") or {}).values()}
        await self._api.invite(channel, sorted({self._slack_ids[p] for p in people
                                                if p in self._slack_ids}))
        await self._redis.set(channel_key(incident_id), channel, ex=CHANNEL_TTL_SECONDS)
        log.info("slack.channel_ready", incident_id=incident_id, channel=channel, name=name)
        return channel
