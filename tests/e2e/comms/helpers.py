"""An incident driven by a test, and what its receivers got."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.receivers import WebhookReceiver
from workflows.incident_models import IncidentView

# Every update cadence of this folder's settings (conftest.py), in seconds.
CADENCE = 1.5


def _with(settings: Settings, **overrides: Any) -> Settings:
    merged = {**settings.comms_overrides, **overrides}
    return settings.model_copy(update={"comms_overrides": merged})


class Incident:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.incidents = Incidents(client, settings.task_queue)
        self.case = uuid.uuid4().hex[:8]
        self.id = ""

    async def open(self, alertname: str = "TestFlagAlert", **labels: str) -> str:
        payload = alertmanager_payload(alertname, case=self.case, **labels)
        self.payload = payload
        batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
        self.id = (await self.incidents.open_or_join(batch)).id
        return self.id

    async def resolve(self) -> None:
        payload = alertmanager_payload(self.payload["groupLabels"]["alertname"], case=self.case,
                                       status="resolved", group_key=self.payload["groupKey"])
        batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
        await self.incidents.open_or_join(batch)

    async def view(self) -> IncidentView:
        return await self.incidents.view(self.id)

    async def done(self, timeout: float = 60) -> IncidentView:
        return await wait_done(self.incidents, self.id, timeout=timeout)


def _mine(receiver: WebhookReceiver, incident_id: str, kind: str) -> list[Any]:
    return [p for p in receiver.of_kind(kind) if p.body["incident_id"] == incident_id]




async def _async(value: bool) -> bool:
    return value
