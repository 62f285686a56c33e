"""Alertmanager's HTTP API v2: the alerts it holds, and its silences.

One short request per call: an Alertmanager that does not answer within
``TIMEOUT_SECONDS`` (or answers 5xx) is ``AlertmanagerUnreachable``; a 4xx answer is a
refusal of the request as given.
"""

from __future__ import annotations

from typing import Any

import httpx

from activities.support.errors import AuthFailed, Rejected

TIMEOUT_SECONDS = 5.0
NOT_CONFIGURED = "no Alertmanager is configured on this worker (ALERTMANAGER_URL)"


class AlertmanagerUnreachable(Exception):
    """No answer (connection refused, timeout) or a server error: worth trying again."""


class AlertmanagerApi:
    """Alerts and silences of the Alertmanager at ``url`` (None: none configured)."""

    def __init__(self, http: httpx.AsyncClient, url: str | None,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self._http = http
        self.url = url.rstrip("/") if url else None
        self._timeout = timeout

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if not self.url:
            raise Rejected(NOT_CONFIGURED)
        try:
            response = await self._http.request(method, f"{self.url}/api/v2{path}",
                                                timeout=self._timeout, **kwargs)
        except httpx.TransportError as exc:
            raise AlertmanagerUnreachable(
                f"Alertmanager at {self.url} unreachable ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise AlertmanagerUnreachable(
                f"Alertmanager at {self.url} answered {response.status_code}: "
                f"{response.text.strip()[:200]}")
        return response

    async def alerts(self, filters: list[str]) -> list[dict[str, Any]]:
        """Alerts not resolved, silenced and inhibited ones included, matching ``filters``."""
        params = [("active", "true"), ("silenced", "true"), ("inhibited", "true"),
                  ("unprocessed", "true"), *(("filter", f) for f in filters)]
        response = await self._call("GET", "/alerts", params=params)
        _refused(response, "listing alerts")
        found: list[dict[str, Any]] = response.json()
        return found

    async def silences(self) -> list[dict[str, Any]]:
        response = await self._call("GET", "/silences")
        _refused(response, "listing silences")
        found: list[dict[str, Any]] = response.json()
        return found

    async def silence(self, silence_id: str) -> dict[str, Any] | None:
        """One silence (any state), or None once Alertmanager no longer knows it."""
        response = await self._call("GET", f"/silence/{silence_id}")
        if response.status_code == 404:
            return None
        _refused(response, f"reading silence {silence_id}")
        found: dict[str, Any] = response.json()
        return found

    async def create_silence(self, body: dict[str, Any]) -> str:
        response = await self._call("POST", "/silences", json=body)
        _refused(response, "creating a silence")
        return str(response.json()["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        response = await self._call("DELETE", f"/silence/{silence_id}")
        _refused(response, f"expiring silence {silence_id}")


def _refused(response: httpx.Response, what: str) -> None:
    if response.status_code in (401, 403):
        raise AuthFailed(f"Alertmanager refused {what}: {response.status_code} "
                         "(credentials in front of its API?)")
    if response.status_code >= 400:
        raise Rejected(f"Alertmanager refused {what} ({response.status_code}): "
                       f"{response.text.strip()[:300]}")
