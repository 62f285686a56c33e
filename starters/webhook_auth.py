"""Who may post alerts: the holder of the webhook bearer token, or for PagerDuty a
delivery signed with the subscription's secret. Comparisons are constant-time."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from remediator.settings import Settings
from starters import pagerduty


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
