"""Durability of the evidence bundle: a worker SIGKILLed while ``collect_evidence`` runs
(sources read, bundle half-stored, bundle stored but not yet reported) leaves exactly one
complete bundle, the one the incident records, and the incident goes on to resolve."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from activities.evidence.collect import bundle_name
from activities.evidence.store import PREFIX
from remediator.models.evidence import EvidenceSummary
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.moto import MotoServer
from tests.support.worker_proc import WorkerProcess

# Where the dead attempt stopped, and what it left in the postmortem directory.
POINTS = [
    ("evidence.collect_evidence.collected", []),
    ("artefacts.put.temp_written", ["{bundle}.tmp"]),
    ("evidence.collect_evidence.after_store", ["{bundle}"]),
]


def _short(settings: Settings, bucket: str) -> Settings:
    # A short budget: the sources that are not set up here answer at once or are cut.
    return settings.model_copy(update={
        "evidence_budget_seconds": 2.0, "sticky_timeout_seconds": 1.0,
        "postmortem_bucket": bucket})


async def _open(incidents: Incidents, case: str) -> str:
    payload = alertmanager_payload("TestFlagAlert", case=case)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    return (await incidents.open_or_join(batch)).id


def _left(directory: Path, incident_id: str) -> list[str]:
    """The evidence files of the incident, temporary ones included."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir()
                  if p.name.startswith(f"{incident_id}-evidence"))


async def _collected(client: Client, incident_id: str) -> tuple[list[int], list[EvidenceSummary]]:
    """The attempt each ``collect_evidence`` activity of the incident (which reads the
    evidence beside its first step, since release-2026-12-i) started on, and what each
    answered."""
    history = await client.get_workflow_handle(incident_id).fetch_history()
    scheduled = {e.event_id for e in history.events
                 if e.activity_task_scheduled_event_attributes.activity_type.name
                 == "collect_evidence"}
    attempts = [e.activity_task_started_event_attributes.attempt for e in history.events
                if e.HasField("activity_task_started_event_attributes")
                and e.activity_task_started_event_attributes.scheduled_event_id in scheduled]
    answers = [EvidenceSummary.model_validate_json(
        e.activity_task_completed_event_attributes.result.payloads[0].data)
        for e in history.events if e.HasField("activity_task_completed_event_attributes")
        and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled]
    return attempts, answers


@pytest.mark.parametrize(("point", "dead_left"), POINTS, ids=[p for p, _ in POINTS])
async def test_worker_killed_while_collecting_leaves_one_complete_bundle(
    settings: Settings, client: Client, redis_client: aioredis.Redis, moto: MotoServer,
    tmp_path: Path, point: str, dead_left: list[str],
) -> None:
    bucket = f"postmortems-{uuid.uuid4().hex[:6]}"
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=bucket)
    settings = _short(settings, bucket)
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue)
    directory = settings.postmortem_dir

    crashing = WorkerProcess(settings, tmp_path, crash_at=point)
    with crashing:
        incident_id = await _open(incidents, case)
        assert crashing.wait_exit(timeout=90) == -9  # died by its own SIGKILL at the point
    bundle = bundle_name(incident_id)
    assert _left(directory, incident_id) == [n.format(bundle=bundle) for n in dead_left]

    with WorkerProcess(settings, tmp_path):  # the retry runs here once the heartbeat lapses
        view = await wait_done(incidents, incident_id)

    assert view.status == "resolved"
    assert [s.state for s in view.steps] == ["applied"]
    attempts, [recorded] = await _collected(client, incident_id)
    assert attempts == [2]
    # One bundle: no second copy, no temporary file left by the dead attempt.
    assert _left(directory, incident_id) == [bundle]
    assert not list(directory.glob("*.tmp"))
    stored: dict[str, Any] = json.loads((directory / bundle).read_text())
    assert set(stored) == {"request", "summary", "changes", "suspect_rollouts", "sources"}
    assert stored["request"]["incident_id"] == incident_id
    # The bundle is the retry's, the one the incident recorded, not the dead attempt's.
    assert stored["summary"] == recorded.model_dump(mode="json") | {"artefact": None}
    assert recorded.artefact == f"s3://{bucket}/{PREFIX}/{bundle}"
    keys = [o["Key"] for o in s3.list_objects_v2(
        Bucket=bucket, Prefix=f"{PREFIX}/{incident_id}-evidence").get("Contents", [])]
    assert keys == [f"{PREFIX}/{bundle}"]
    body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    assert body == (directory / bundle).read_bytes()
    # The timeline says it once, with where the bundle is.
    kinds = [e.kind for e in view.timeline]
    assert kinds.count("evidence.collected") == 1 and "evidence.unavailable" not in kinds
    assert kinds.count("investigation.suspect") == 1
    [collected] = [e for e in view.timeline if e.kind == "evidence.collected"]
    assert f"(bundle: s3://{bucket}/{PREFIX}/{bundle})" in collected.detail
