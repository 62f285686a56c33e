"""Atlassian Statuspage as a customer sink: the incident is created, then resolved, with
its component's state, on the customer-update cadence; the key only in the header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from remediator.settings import Settings, SinkConfig
from remediator.severity import Severity
from starters.incidents import Incidents
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from tests.support.statuspage import PageCall, StatuspageServer
from workers.main import running_worker
from workflows.incident_models import Declaration, Resolution

KEY = "sp-secret-key-123"


@pytest.fixture
def page() -> Iterator[StatuspageServer]:
    with StatuspageServer() as server:
        yield server


async def calls(page: StatuspageServer, n: int) -> list[PageCall]:
    async def got() -> list[PageCall] | None:
        return list(page.calls) if len(page.calls) >= n else None

    return await eventually(got, timeout=30, what=f"{n} Statuspage call(s)")


async def test_statuspage_incident_follows_the_customer_updates(
    client: Client, settings: Settings, page: StatuspageServer
) -> None:
    sink = SinkConfig(name="status", kind="statuspage", audience="customer", page_id="pg1",
                      api_key=SecretStr(KEY), base_url=page.base_url,
                      components={"payments": "cmp-pay"})
    configured = settings.model_copy(update={"sinks": [sink], "oncall": "alice"})
    incidents = Incidents(client, configured.task_queue)
    async with running_worker(client, configured):
        opened = await incidents.declare(Declaration(
            title="payments primary db-7.internal down", service="payments",
            severity=Severity.P0, by="alice"))
        [created] = await calls(page, 1)

        async def handed_over() -> bool:
            view = await incidents.view(opened.id)
            return any(e.kind == "incident.handed_over" for e in view.timeline)

        await eventually(handed_over, timeout=30, what="the incident handed over")
        await incidents.resolve(opened.id, Resolution(by="bob", reason="failed over"))
        await wait_done(incidents, opened.id, timeout=60)
        *_, resolved = await calls(page, 2)
    assert created.method == "POST" and created.path == "/v1/pages/pg1/incidents"
    assert created.auth == f"OAuth {KEY}"
    body = created.body["incident"]
    assert body["name"] == "Major outage of payments" and body["status"] == "investigating"
    assert body["components"] == {"cmp-pay": "major_outage"}
    assert "investigating reports of an issue affecting payments" in body["body"]
    assert resolved.method == "PATCH" and resolved.path == "/v1/pages/pg1/incidents/pi1"
    assert resolved.body["incident"]["status"] == "resolved"
    assert resolved.body["incident"]["components"] == {"cmp-pay": "operational"}
    for call in page.calls:
        assert "db-7" not in str(call.body) and "alice" not in str(call.body)
        assert KEY not in str(call.body)
