"""``remediator report`` over real incidents of one service: two automated fixes (the
second a recurrence of the first), a fix that failed verification and was undone before
a human resolved it, and a declared incident without a runbook."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.models.comms import Acknowledgement
from remediator.settings import Settings
from remediator.telemetry.figures import figures_of
from starters.incidents import Incidents
from tests.e2e.incidents.helpers import FLAGS, send
from tests.support.alerts import alertmanager_payload
from tests.support.cli import cli
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.incident_models import Declaration, IncidentView, Resolution


async def _fixed(incidents: Incidents, redis_client: aioredis.Redis, payload: dict[str, object],
                 case: str) -> IncidentView:
    await redis_client.hset(FLAGS, f"test-{case}", "on")
    opened = await send(incidents, payload)
    assert opened.created
    return await wait_done(incidents, opened.id)


async def _escalated(incidents: Incidents, incident_id: str) -> IncidentView:
    async def probe() -> IncidentView | None:
        view = await incidents.view(incident_id)
        return view if view.status == "escalated" else None

    return await eventually(probe, timeout=60, what=f"{incident_id} handed over")


async def _resolved_by_a_human(incidents: Incidents, incident_id: str) -> IncidentView:
    await _escalated(incidents, incident_id)
    await incidents.acknowledge(incident_id, Acknowledgement(user="bob"))
    await incidents.resolve(incident_id, Resolution(by="alice", reason="fixed by hand"))
    return await wait_done(incidents, incident_id)


@pytest.fixture
async def worker(client: Client, settings: Settings) -> AsyncIterator[None]:
    """The group fires again within the default cooldown: here its fix applies again."""
    async with running_worker(client, settings.model_copy(
            update={"guard_cooldown_seconds": 0.0})):
        yield


async def test_report_figures_match_what_the_incidents_did(
    settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    service, good, bad = (f"svc-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8],
                          uuid.uuid4().hex[:8])
    incidents = Incidents(client, settings.task_queue)
    await redis_client.set(f"health:{good}", "ok")
    await redis_client.set(f"health:{bad}", "failing")
    again = alertmanager_payload("TestFlagAlert", service=service, case=good)
    first = await _fixed(incidents, redis_client, again, good)
    second = await _fixed(incidents, redis_client, again, good)  # the group fires again
    assert second.previous == first.id and first.status == second.status == "resolved"
    await redis_client.hset(FLAGS, f"test-{bad}", "on")
    failed = await send(incidents, alertmanager_payload("TestFlagAlert", service=service, case=bad))
    undone = await _resolved_by_a_human(incidents, failed.id)
    assert [s.state for s in undone.steps] == ["undone"]
    declared = await incidents.declare(Declaration(
        title="Users report slow pages", service=service, severity="P3", by="alice"))
    by_hand = await _resolved_by_a_human(incidents, declared.id)
    views = [first, second, undone, by_hand]

    async def reported() -> dict[str, object] | None:
        shown = await cli(settings, "report", "--since", "1h", "--service", service, "--json")
        assert shown.returncode == 0, shown.stderr
        body: dict[str, object] = json.loads(shown.stdout)
        return body if body["incidents"] == 4 else None

    report = await eventually(reported, timeout=30, every=0.5, what="all four in the report")
    assert report["closed"] == 4 and report["acknowledged"] == 2
    assert report["resolved_by_automation"] == 0.5 and report["handed_over"] == 0.5
    [runbook] = report["runbooks"]  # type: ignore[misc]
    assert runbook["runbook"] == "test-flag" and runbook["runs"] == 3
    assert runbook["verifications"] == 3 and runbook["verification_pass_rate"] == 2 / 3
    assert runbook["undo_rate"] == 1 / 3
    assert runbook["recurrences_within_24h_of_pass"] == 1
    # The times, recomputed from each incident's own record.
    opened = {v.id: await _opened_at(client, v.id) for v in views}
    figures = [figures_of(opened[v.id], v.timeline, v.steps, v.status == "resolved",
                          v.runbook, v.dry_run) for v in views]
    resolve = [f.resolve_seconds for f in figures]
    assert all(s is not None and s > 0 for s in resolve)
    assert abs(report["mttr_seconds"] - sum(resolve) / 4) < 1e-6  # type: ignore[operator, arg-type]
    mitigate = sorted(f.first_mitigation_seconds for f in figures[:3])  # type: ignore[type-var]
    assert runbook["median_time_to_mitigate_seconds"] == mitigate[1]
    week = f"{datetime.now(UTC).isocalendar()[0]}-W{datetime.now(UTC).isocalendar()[1]:02d}"
    assert report["mttr_by_week"] == {week: report["mttr_seconds"]}

    chart = tmp_path / "report.png"
    drawn = await cli(settings, "report", "--since", "1h", "--service", service,
                      "--chart", str(chart))
    assert drawn.returncode == 0, drawn.stderr
    assert "MTTR" in drawn.stdout and "test-flag" in drawn.stdout
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def _opened_at(client: Client, incident_id: str) -> datetime:
    described = await client.get_workflow_handle(incident_id).describe()
    return described.start_time


async def test_report_refuses_bad_input_and_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    for args, says in [
        (["--since", "30x"], "bad --since"),
        (["--since", "0d"], "bad --since"),
        (["--chart", str(tmp_path / "missing" / "r.png")], "no directory"),
        (["--chart", str(tmp_path / "r.txt")], "PNG"),
        (["--chart", str(tmp_path)], "PNG"),
        (["--chart", str(tmp_path / "a-file" / "r.png")], "no directory"),
    ]:
        refused = await cli(settings, "report", *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert says in refused.stderr and "Traceback" not in refused.stderr
    assert list(tmp_path.rglob("*.png")) == []
