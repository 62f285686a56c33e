"""The CLI as a newcomer meets it: the stack down, help texts, a failed incident, a long
list, the demo users' tokens."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from remediator.devstack.servers import free_port
from remediator.settings import Settings
from starters.cli.incidents import table
from starters.incidents import Summary
from tests.support.cli import cli
from workflows.incident import IncidentWorkflow
from workflows.incident_models import Declaration, IncidentInput
from workflows.postmortem_draft import duration_text
from workflows.support import search

COMMANDS = [
    ["incidents"], ["incidents", "--all", "--json"], ["status", "INC-2026-0001"],
    ["pending"], ["postmortem", "INC-2026-0001"], ["ack", "INC-2026-0001", "--as", "bob"],
    ["guard", "status"], ["maintenance", "list"],
    ["severity", "INC-2026-0001", "P1", "--as", "bob", "--reason", "wider than thought"],
]


async def test_every_command_says_in_one_line_that_the_stack_is_down(
    settings: Settings, tmp_path: Path
) -> None:
    down = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    results = await asyncio.gather(*(cli(down, *args) for args in COMMANDS))
    for args, result in zip(COMMANDS, results, strict=True):
        assert result.returncode == 3, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (args, result.stderr)
        assert f"cannot reach Temporal at {down.temporal_address}" in lines[0]
        assert "remediator dev" in lines[0]
    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps({"source": "t", "name": "X", "labels": {}, "status": "firing"}))
    base = f"http://127.0.0.1:{free_port()}"
    sent = await cli(settings, "alert", str(payload), "--url", base)
    assert sent.returncode == 3 and sent.stderr.strip().splitlines() == [
        f"remediator: cannot reach the webhook server at {base}: start the stack with "
        "`remediator dev` (or `remediator serve`), or pass --url / set REMEDIATOR_HTTP_ADDR"]


@pytest.mark.parametrize("args", [
    [], ["incidents"], ["postmortem"], ["sign-decision"], ["pause"], ["alert"], ["dev"],
    ["guard", "status"], ["runbook", "actions"],
])
async def test_help_shows_no_raw_markup(settings: Settings, args: list[str]) -> None:
    shown = await cli(settings, *args, "--help")
    assert shown.returncode == 0, shown.stderr
    for raw in ("``", "<bool>"):
        assert raw not in shown.stdout, (args, shown.stdout)


def test_incident_list_columns_fit_their_widest_value() -> None:
    found = [Summary("INC-2026-0001", "awaiting_approval", "mitigate", "P1", "checkout",
                     "2026-11-02T10:00:00.5+00:00"),
             Summary("INC-2026-0002", "open", "detect", "", "", "2026-11-02T10:01:00+00:00")]
    header, *rows = table(found)
    starts = [header.index(name) for name in ("SEV", "STATUS", "PHASE", "SERVICE", "STARTED")]
    assert rows[0].index("awaiting_approval") == starts[1]
    assert rows[0].index("mitigate") == rows[1].index("detect") == starts[2]
    assert rows[0].index("mitigate") > rows[0].index("awaiting_approval") + len("awaiting_approval")
    assert rows[1].endswith("2026-11-02T10:01:00Z")


def test_short_durations_read_in_seconds() -> None:
    assert duration_text(2.2) == "2 s"
    assert duration_text(90) == "1.5 min"
    assert duration_text(7200) == "2.0 h"


async def _start_unserved(client: Client, queue: str, number: int, title: str = "t") -> str:
    """An incident workflow on a task queue no worker serves: it stays as started."""
    incident_id = f"INC-2099-{number:06d}"
    declared = Declaration(title=title, service="checkout", severity="P2", by="alice")
    await client.start_workflow(
        IncidentWorkflow.run, IncidentInput(incident_id=incident_id, declared=declared),
        id=incident_id, task_queue=queue, search_attributes=search.at_open())
    return incident_id


async def test_a_terminated_incident_still_reads_and_says_why(
    settings: Settings, client: Client, http_base: str
) -> None:
    incident_id = await _start_unserved(client, f"nobody-{uuid.uuid4().hex[:8]}",
                                        int(uuid.uuid4().int % 900_000) + 100_000,
                                        title="Checkout down for EU users")
    await client.get_workflow_handle(incident_id).terminate(reason="stuck: operator gave up")
    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        resp = await http.get(f"{http_base}/v1/incidents/{incident_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "failed" and body["from_history"] is True
    assert "stuck: operator gave up" in body["failure"]
    assert body["title"] == "Checkout down for EU users" and body["service"] == "checkout"
    assert body["timeline"][-1]["kind"] == "incident.terminated"
    shown = await cli(settings, "status", incident_id)
    assert shown.returncode == 0, shown.stderr
    assert "status failed" in shown.stdout and "stuck: operator gave up" in shown.stdout
    assert time.monotonic() - started < 15  # no query waits for a worker that cannot answer


async def test_a_running_incident_with_no_worker_reads_from_its_history(
    settings: Settings, client: Client
) -> None:
    incident_id = await _start_unserved(client, f"nobody-{uuid.uuid4().hex[:8]}",
                                        int(uuid.uuid4().int % 900_000) + 100_000)
    try:
        shown = await cli(settings, "status", incident_id, "--json")
        assert shown.returncode == 0, shown.stderr
        view = json.loads(shown.stdout)
        assert view["status"] == "open" and view["from_history"] is True
        assert view["failure"] is None and view["declared_by"] == "alice"
    finally:
        await client.get_workflow_handle(incident_id).terminate(reason="test over")


async def test_incidents_all_json_pages_through_every_incident(
    settings: Settings, client: Client
) -> None:
    queue, base = f"nobody-{uuid.uuid4().hex[:8]}", int(uuid.uuid4().int % 800_000) + 100_000
    ids = set(await asyncio.gather(*(_start_unserved(client, queue, base + n)
                                     for n in range(130))))
    try:
        async def all_visible() -> bool:
            count = await client.count_workflows(f"TaskQueue = '{queue}'")
            return count.count == len(ids)

        deadline = time.monotonic() + 30
        while not await all_visible():
            assert time.monotonic() < deadline, "visibility never listed every start"
            await asyncio.sleep(0.2)
        listed = await cli(settings, "incidents", "--all", "--json")
        assert listed.returncode == 0, listed.stderr
        assert ids <= {i["id"] for i in json.loads(listed.stdout)}
        capped = await cli(settings, "incidents", "--limit", "5")
        assert capped.returncode == 0, capped.stderr
        assert "more not shown" in capped.stdout
    finally:
        await asyncio.gather(*(client.get_workflow_handle(i).terminate(reason="test over")
                               for i in ids))


def test_the_cli_finds_a_demo_users_token_by_name(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, api_token_file=tmp_path / "none")
    settings.dev_token_dir.mkdir()
    (settings.dev_token_dir / "alice").write_text("tok-alice\n")
    assert settings.cli_token("alice") == "tok-alice"
    assert settings.cli_token("bob") is None and settings.cli_token("../alice") is None
