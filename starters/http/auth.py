"""Who may do what over HTTP. Posting alerts: the holder of the webhook bearer token, or
for PagerDuty a delivery signed with the subscription's secret. Reading, declaring and
deciding: the user of an API token (reads on loopback need none). Comparisons are
constant-time."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from remediator.settings import Settings
from starters.alerts import pagerduty


class Unauthenticated(Exception):
    """The request proved no right to post alerts."""


class WebhookAuth:
    def __init__(self, settings: Settings) -> None:
        self._token = settings.webhook_token
        self._pagerduty_secrets = settings.pagerduty_secret_list()

    def bearer_ok(self, request: Request) -> bool:
        """True when no token is configured (loopback only) or the request carries it."""
        if self._token is None:
            return True
        expected = f"Bearer {self._token.get_secret_value()}".encode()
        # Bytes, not str: compare_digest raises TypeError on a non-ASCII str.
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    async def require_bearer(self, request: Request) -> None:
        """A FastAPI dependency for the alert endpoints."""
        if not self.bearer_ok(request):
            raise HTTPException(401, "missing or wrong bearer token")

    def pagerduty(self, request: Request, body: bytes) -> None:
        """A valid ``X-PagerDuty-Signature``, or else the bearer token; with signing
        secrets configured and no token, the signature is required."""
        secrets = self._pagerduty_secrets
        signature = request.headers.get("x-pagerduty-signature", "")
        if secrets and signature and pagerduty.signed(body, signature, secrets):
            return
        if not self.bearer_ok(request) or (secrets and self._token is None):
            raise Unauthenticated("missing or wrong X-PagerDuty-Signature or bearer token")


class ApiAuth:
    """The API tokens (``REMEDIATOR_API_TOKENS``): each names the user who holds it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def user(self, request: Request) -> str | None:
        """The user whose API token the request carries as its bearer token, if any."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return self._settings.user_for_token(token) if scheme.lower() == "bearer" else None

    async def require_reader(self, request: Request) -> None:
        """A FastAPI dependency for reads: beyond loopback (or with
        REMEDIATOR_READS_NEED_TOKEN) any valid API token; on loopback, no token."""
        if self._settings.reads_guarded and self.user(request) is None:
            raise HTTPException(401, "reading incidents needs a valid API bearer token")
