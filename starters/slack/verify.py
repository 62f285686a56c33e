"""Is this request from Slack, fresh, and the first of its kind?

Slack signs every request: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the
app's signing secret (checked with slack-sdk's ``SignatureVerifier``). A request more
than 5 minutes old (or ahead) is stale; within the window each signature is accepted
once, remembered in Redis so every webhook replica knows it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from slack_sdk.signature import SignatureVerifier

# Slack's own freshness window; a signature is remembered for it on both sides of now.
MAX_AGE_SECONDS = 300
SEEN_TTL_SECONDS = 2 * MAX_AGE_SECONDS + 60


class SlackRefused(Exception):
    """The request is refused before anything is read from it; ``status`` is its answer."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class SlackRequests:
    """Checks signature, freshness and uniqueness of Slack's requests."""

    def __init__(self, signing_secret: str, redis_client: aioredis.Redis,
                 now: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._redis = redis_client
        self._now = now

    async def check(self, headers: Mapping[str, str], body: bytes) -> None:
        """Returns when the request is Slack's, fresh and new; SlackRefused otherwise."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or not signature:
            raise SlackRefused(401, "missing Slack signature or timestamp")
        if abs(self._now() - int(timestamp)) > MAX_AGE_SECONDS:
            raise SlackRefused(401, "stale request: its timestamp is more than 5 minutes off")
        if not self._verifier.is_valid(body, timestamp, signature):
            raise SlackRefused(401, "bad Slack signature")
        key = "remediator:slack:seen:" + hashlib.sha256(signature.encode()).hexdigest()
        try:
            first = await self._redis.set(key, timestamp, nx=True, ex=SEEN_TTL_SECONDS)
        except (RedisError, OSError):
            # A decision must not be taken twice: without the replay cache, refuse.
            raise SlackRefused(503, "replay cache unreachable; retry later") from None
        if not first:
            raise SlackRefused(409, "replayed request: this signature was already used")
