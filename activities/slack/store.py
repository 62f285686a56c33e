"""Where an approval card was posted (channel, ts) and what it says, in Redis.

Shared by every worker and webhook server: whoever learns of a decision first (the
incident through its desk, or the server that took a button click) finds the message
by incident and step and updates it.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from activities.slack.cards import ApprovalCard
from remediator.models.contract import Contract

CARD_TTL_SECONDS = 14 * 86_400


class PostedCard(Contract):
    channel: str
    ts: str
    card: ApprovalCard


class CardStore:
    def __init__(self, redis_client: aioredis.Redis) -> None:
        self._redis = redis_client

    @staticmethod
    def key(incident_id: str, step_id: str) -> str:
        return f"remediator:slack:approval:{incident_id}:{step_id}"

    async def get(self, incident_id: str, step_id: str) -> PostedCard | None:
        raw = await self._redis.get(self.key(incident_id, step_id))
        return None if raw is None else PostedCard.model_validate_json(raw)

    async def channel_of(self, incident_id: str) -> str | None:
        """The incident's own channel (``activities.slack.channels``), once it exists."""
        raw = await self._redis.get(f"remediator:slack:channel:{incident_id}")
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    async def put(self, posted: PostedCard) -> None:
        await self._redis.set(self.key(posted.card.incident_id, posted.card.step_id),
                              posted.model_dump_json(), ex=CARD_TTL_SECONDS)
