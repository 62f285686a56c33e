"""The few Slack Web API methods remediator calls, over the bot token.

The token is the credential: no error raised here carries it, or a URL with it, into a
log line or a workflow history (bare messages, ``from None``). Slack answers HTTP 200
with ``{"ok": false, "error": ...}`` for most failures; those name what was refused.
"""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

# Failures that retrying with the same request cannot fix.
FINAL_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                "channel_not_found", "missing_scope", "invalid_blocks", "msg_too_long",
                "is_archived", "not_in_channel", "invalid_name", "restricted_action"}


class SlackApi:
    """``chat.postMessage``, ``chat.update``, ``conversations.*`` with the bot token."""

    def __init__(self, http: httpx.AsyncClient, token: str, base_url: str) -> None:
        self._http = http
        self._token = token
        self._base = base_url.rstrip("/")

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One Web API call; ApplicationError (non-retryable when final) on failure."""
        try:
            resp = await self._http.post(f"{self._base}/{method}", json=body, timeout=10.0,
                                         headers={"authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as exc:
            raise ApplicationError(f"slack {method}: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise ApplicationError(f"slack {method}: HTTP {resp.status_code}")
        try:
            answer: dict[str, Any] = resp.json()
        except ValueError:
            raise ApplicationError(f"slack {method}: HTTP {resp.status_code}, not JSON",
                                   non_retryable=True) from None
        if not answer.get("ok"):
            error = str(answer.get("error", f"HTTP {resp.status_code}"))[:100]
            raise ApplicationError(f"slack {method}: {error}", type=error,
                                   non_retryable=error in FINAL_ERRORS)
        return answer

    async def post(self, channel: str, text: str,
                   blocks: list[dict[str, Any]] | None = None) -> tuple[str, str]:
        """Post a message; its (channel id, ts), which name it for later updates."""
        body: dict[str, Any] = {"channel": channel, "text": text}
        if blocks is not None:
            body["blocks"] = blocks
        answer = await self.call("chat.postMessage", body)
        return str(answer["channel"]), str(answer["ts"])

    async def update(self, channel: str, ts: str, text: str,
                     blocks: list[dict[str, Any]]) -> None:
        await self.call("chat.update", {"channel": channel, "ts": ts, "text": text,
                                        "blocks": blocks})

    async def channel_named(self, name: str) -> str:
        """The id of the public channel ``name``, created if there is none (idempotent:
        a second call, or another worker's, finds the first one's channel)."""
        try:
            answer = await self.call("conversations.create", {"name": name, "is_private": False})
            return str(answer["channel"]["id"])
        except ApplicationError as exc:
            if exc.type != "name_taken":
                raise
        cursor = ""
        while True:
            page = await self.call("conversations.list", {
                "exclude_archived": True, "limit": 1000, "types": "public_channel",
                **({"cursor": cursor} if cursor else {})})
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = str(page.get("response_metadata", {}).get("next_cursor") or "")
            if not cursor:
                raise ApplicationError(f"slack: channel {name} is taken but not listed",
                                       non_retryable=True)

    async def pin(self, channel: str, ts: str) -> None:
        """Pin the message ``ts`` in ``channel``; one pinned already is no error."""
        try:
            await self.call("pins.add", {"channel": channel, "timestamp": ts})
        except ApplicationError as exc:
            if exc.type != "already_pinned":
                raise

    async def invite(self, channel: str, users: list[str]) -> None:
        """Invite ``users`` (Slack ids); those already in the channel are no error."""
        if not users:
            return
        try:
            await self.call("conversations.invite", {"channel": channel, "users": ",".join(users)})
        except ApplicationError as exc:
            if exc.type not in ("already_in_channel", "cant_invite_self"):
                raise
