"""What ``serve`` depends on, and whether each is reachable right now.

The webhook server listens even while Temporal is down: ``TemporalLink`` connects in
the background (with the same backoff as the worker) and, until it has, every
incident endpoint answers 503 so senders retry instead of losing the alert.
``/healthz`` runs the named probes; adding a dependency is one entry in that dict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client

from remediator.settings import Settings
from remediator.temporal import connect_when_ready
from starters.incidents import Incidents
from starters.shield import StormShield

log = structlog.get_logger()

# A probe answers whether its dependency is reachable; raising counts as "no".
Probe = Callable[[], Awaitable[bool]]
PROBE_TIMEOUT_SECONDS = 2.0


class TemporalNotConnected(RuntimeError):
    """Serve has not reached Temporal yet (it keeps trying in the background)."""


class TemporalLink:
    """Serve's connection to Temporal, made in the background."""

    def __init__(self, settings: Settings, incidents: Incidents | None = None,
                 shield: StormShield | None = None) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._incidents = incidents
        self._shield = shield

    async def connect(self) -> None:
        """Wait until Temporal answers, then serve incidents through it."""
        try:
            client = await connect_when_ready(self._settings)
        except Exception as exc:
            # Not an outage (e.g. refused TLS): serve stays up, 503s and says why here.
            log.error("serve.connect_failed", temporal=self._settings.temporal_address,
                      error=str(exc))
            raise
        self._client = client
        self._incidents = Incidents.from_settings(client, self._settings, self._shield)
        log.info("serve.connected", temporal=self._settings.temporal_address)

    def incidents(self) -> Incidents:
        """The incidents starter; raises ``TemporalNotConnected`` until connected."""
        if self._incidents is None:
            raise TemporalNotConnected("Temporal is not reachable yet")
        return self._incidents

    async def probe(self) -> bool:
        if self._client is None:
            # Incidents handed in by the caller: its owner answers for the connection.
            return self._incidents is not None
        return await self._client.service_client.check_health(
            timeout=timedelta(seconds=PROBE_TIMEOUT_SECONDS))


class IncidentsWhenConnected:
    """Stands in for ``Incidents``: each attribute is the connected starter's own, and
    raises ``TemporalNotConnected`` until serve has reached Temporal."""

    def __init__(self, link: TemporalLink) -> None:
        self._link = link

    def __getattr__(self, name: str) -> Any:
        return getattr(self._link.incidents(), name)


async def unreachable(probes: dict[str, Probe]) -> list[str]:
    """Names of the probes that fail, raise or time out, all probed at once."""

    async def ok(probe: Probe) -> bool:
        try:
            return bool(await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS))
        except Exception:
            return False

    results = await asyncio.gather(*(ok(p) for p in probes.values()))
    return [name for name, up in zip(probes, results, strict=True) if not up]
