"""The ``remediator`` CLI against the real stack: alert, status, incidents, postmortem,
runbook validate."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.incidents import Incidents
from tests.conftest import TESTS
from tests.support.alerts import alertmanager_payload
from tests.support.cli import cli
from tests.support.polling import eventually


async def test_alert_status_incidents_and_postmortem_commands(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis, tmp_path: Path,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps(alertmanager_payload("TestFlagAlert", case=case)))
    sent = await cli(settings, "alert", str(payload), "--url", http_base)
    assert sent.returncode == 0, sent.stderr
    incident_id = json.loads(sent.stdout)["incidents"][0]["id"]

    listed = await cli(settings, "incidents", "--json")
    assert incident_id in [i["id"] for i in json.loads(listed.stdout)]

    incidents = Incidents(client, settings.task_queue)
    await eventually(lambda: _done(incidents, incident_id), timeout=60, what="incident done")
    status = await cli(settings, "status", incident_id, "--json")
    assert json.loads(status.stdout)["status"] == "resolved"
    human = await cli(settings, "status", incident_id)
    assert "mitigation.applied" in human.stdout
    report = await cli(settings, "postmortem", incident_id)
    assert report.stdout.startswith("# Post-Incident Review")
    missing = await cli(settings, "status", "inc-doesnotexist")
    assert missing.returncode == 1 and "no incident" in missing.stderr


async def _done(incidents: Incidents, incident_id: str) -> bool:
    return (await incidents.view(incident_id)).phase == "done"


async def test_runbook_validate_reports_every_error_with_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: broken\n"
        "match: {alertname: X}\n"
        "steps:\n"
        "  - id: one\n"
        "    action: feature_flag.nope\n"
        "  - id: two\n"
        "    action: feature_flag.set\n"
        "    params: {flag: f}\n"
        "verify:\n"
        "  checks: []\n"
    )
    result = await cli(settings, "runbook", "validate", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(f"{bad}:5: steps[0].action: unknown action" in line for line in lines)
    assert any(f"{bad}:8: steps[1].params.value: Field required" in line for line in lines)
    assert any(f"{bad}:10: verify.checks:" in line for line in lines)
    good = await cli(settings, "runbook", "validate",
                     str(TESTS / "runbooks" / "test-flag.yaml"))
    assert good.returncode == 0 and "ok" in good.stdout


async def test_severity_command_reclassifies_an_open_incident(
    settings: Settings, client: Client, worker: None, http_base: str, tmp_path: Path,
) -> None:
    """``remediator severity``: seed 02's sev-1 is P0; the change is on the timeline; a
    bad level or an unknown incident is one line on stderr and changes nothing."""
    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps(alertmanager_payload("NoRunbookAlert",
                                                       case=uuid.uuid4().hex[:8])))
    sent = await cli(settings, "alert", str(payload), "--url", http_base)
    incident_id = json.loads(sent.stdout)["incidents"][0]["id"]
    incidents = Incidents(client, settings.task_queue)

    async def handed_over() -> bool:
        return (await incidents.view(incident_id)).status == "escalated"

    await eventually(handed_over, timeout=60, what="incident handed over")
    bad = await cli(settings, "severity", incident_id, "P9", "--as", "carol", "--reason", "x")
    assert bad.returncode == 2 and "unknown severity 'P9'" in bad.stderr, bad.stderr
    unknown = await cli(settings, "severity", "INC-2026-99999", "P1", "--as", "carol",
                        "--reason", "x")
    assert unknown.returncode == 1 and "no incident INC-2026-99999" in unknown.stderr
    done = await cli(settings, "severity", incident_id, "sev-1", "--as", "carol",
                     "--reason", "every region")
    assert done.returncode == 0, done.stderr

    async def raised() -> list[str]:
        view = await incidents.view(incident_id)
        return [e.detail for e in view.timeline if e.kind == "severity.changed"]

    changes = await eventually(raised, timeout=30, what="the severity change")
    assert changes[0].endswith("→ P0 by carol: every region"), changes
    assert (await incidents.view(incident_id)).severity == "P0"
    resolved = await cli(settings, "resolve", incident_id, "--as", "carol", "--reason", "ok")
    assert resolved.returncode == 0, resolved.stderr
