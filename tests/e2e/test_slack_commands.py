"""``/incident …`` from Slack: declare opens an incident as ``remediator declare`` does;
status, ack and pending answer the user only; unsigned or unmapped requests do nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from remediator.settings import Settings
from starters.incidents import Incidents
from tests.conftest import ServerThread
from tests.support.polling import eventually
from tests.support.slack import command_body, signed_headers
from workers.main import running_worker


@pytest.fixture
async def commands(client: Client, chat: Settings) -> AsyncIterator[str]:
    async with running_worker(client, chat), ServerThread(chat) as http:
        yield f"{http.base}/v1/slack/commands"


async def run(url: str, user: str, text: str, **headers: str) -> httpx.Response:
    body = command_body(user, text)
    async with httpx.AsyncClient() as http:
        return await http.post(url, content=body, headers={**signed_headers(body), **headers},
                               timeout=15)


async def test_declare_then_status_and_ack(client: Client, chat: Settings, commands: str) -> None:
    declared = await run(commands, "U2", "declare sev-2 checkout Checkout returns 500s")
    assert declared.status_code == 200, declared.text
    answer = declared.json()
    assert answer["response_type"] == "ephemeral" and "declared by bob (P1, checkout)" in answer["text"]
    incident_id = answer["text"].split(":")[0]
    incidents = Incidents(client, chat.task_queue)

    async def opened() -> bool:
        view = await incidents.view(incident_id)
        return view.declared_by == "bob" and view.severity == "P1"

    await eventually(opened, timeout=30, what="the declared incident triaged")
    status = (await run(commands, "U2", f"status {incident_id}")).json()
    assert status["response_type"] == "ephemeral" and "Checkout returns 500s" in status["text"]
    acked = (await run(commands, "U1", f"ack {incident_id}")).json()
    assert "acknowledged by alice" in acked["text"]

    async def acknowledged() -> bool:
        return (await incidents.view(incident_id)).acknowledged_by == "alice"

    await eventually(acknowledged, timeout=30, what="the acknowledgement")
    raised = (await run(commands, "U1", f"severity {incident_id} sev-1 all regions down")).json()
    assert f"{incident_id}: severity P0 by alice" in raised["text"], raised

    async def reclassified() -> bool:
        view = await incidents.view(incident_id)
        return view.severity == "P0" and any(
            e.kind == "severity.changed" and e.detail.endswith("by alice: all regions down")
            for e in view.timeline)

    await eventually(reclassified, timeout=30, what="the severity raised from Slack")
    pending = (await run(commands, "U1", "pending")).json()
    assert pending["response_type"] == "ephemeral"
    missing = (await run(commands, "U1", "status INC-1999-9999")).json()
    assert "No incident" in missing["text"]
    bad = (await run(commands, "U1", "declare sev-9 checkout x")).json()
    assert "unknown severity" in bad["text"]


async def test_refused_commands_declare_nothing(client: Client, chat: Settings,
                                                commands: str) -> None:
    incidents = Incidents(client, chat.task_queue)
    before = len(await incidents.list(open_only=False, limit=1000))
    unmapped = await run(commands, "U777", "declare P0 checkout down")
    forged = await run(commands, "U1", "declare P0 checkout down",
                       **{"x-slack-signature": "v0=" + "0" * 64})
    stale_body = command_body("U1", "declare P0 checkout down")
    async with httpx.AsyncClient() as http:
        stale = await http.post(commands, content=stale_body,
                                headers=signed_headers(stale_body, timestamp=1_600_000_000))
        junk = b"%%%"
        malformed = await http.post(commands, content=junk, headers=signed_headers(junk))
    assert unmapped.status_code == 403 and forged.status_code == 401
    assert stale.status_code == 401 and malformed.status_code == 400
    assert len(await incidents.list(open_only=False, limit=1000)) == before
