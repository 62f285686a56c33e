"""Atlassian Statuspage: the incident's customer-facing state on a hosted status page.

Each customer update of an incident (the same cadence as every customer message)
creates the page's incident, then updates it, then resolves it, with the affected
component's state — exactly what ``remediator.public_status`` says, nothing internal.
The API key is the credential: ``Authorization: OAuth <key>``, never in an error, log
line or workflow history.
"""

from __future__ import annotations

from typing import Any

import httpx
import redis.asyncio as aioredis
import structlog
from temporalio.exceptions import ApplicationError

from remediator.public_status import Impact, PublicIncident, PublicState
from remediator.settings import SinkConfig

log = structlog.get_logger()
KEY_TTL_SECONDS = 120 * 86_400


class Statuspage:
    def __init__(self, http: httpx.AsyncClient, redis_client: aioredis.Redis) -> None:
        self._http = http
        self._redis = redis_client

    async def publish(self, sink: SinkConfig, incident: PublicIncident) -> str:
        """Create or update the page's incident to match ``incident``; its Statuspage id."""
        if not sink.page_id or sink.api_key is None:
            raise ApplicationError(f"sink {sink.name}: page_id and api_key are required",
                                   non_retryable=True)
        key = f"remediator:statuspage:{sink.name}:{sink.page_id}:{incident.id}"
        known = await self._redis.get(key)
        latest = incident.updates[-1]
        body: dict[str, Any] = {"status": incident.status.value, "body": latest.body}
        component = sink.components.get(incident.component)
        if component is not None:
            state = Impact.OPERATIONAL if incident.status == PublicState.RESOLVED else incident.impact
            body["components"] = {component: state.value}
            body["component_ids"] = [component]
        base = f"{sink.base_url.rstrip('/')}/pages/{sink.page_id}/incidents"
        if known is None:
            answer = await self._call(sink, "POST", base, {
                **body, "name": incident.title, "deliver_notifications": True})
            page_incident = str(answer["id"])
            await self._redis.set(key, page_incident, ex=KEY_TTL_SECONDS)
        else:
            page_incident = known.decode() if isinstance(known, bytes) else str(known)
            await self._call(sink, "PATCH", f"{base}/{page_incident}", body)
        log.info("statuspage.published", sink=sink.name, incident_id=incident.id,
                 status=incident.status.value)
        return page_incident

    async def _call(self, sink: SinkConfig, method: str, url: str,
                    incident: dict[str, Any]) -> dict[str, Any]:
        assert sink.api_key is not None
        try:
            resp = await self._http.request(method, url, json={"incident": incident}, timeout=10.0,
                                            headers={"authorization":
                                                     f"OAuth {sink.api_key.get_secret_value()}"})
        except httpx.HTTPError as exc:
            raise ApplicationError(f"sink {sink.name}: {type(exc).__name__}") from None
        if not resp.is_success:
            status = resp.status_code
            final = 400 <= status < 500 and status not in (408, 429)
            raise ApplicationError(f"sink {sink.name}: Statuspage answered HTTP {status}",
                                   non_retryable=final)
        answer: dict[str, Any] = resp.json()
        return answer
