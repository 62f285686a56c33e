"""Workflow code stays replayable: recorded incident histories replay on the current code.

Running incidents are replayed whenever a worker picks them up after a restart or a
deploy, so a change to workflow code that would take a different path on an old
history (a non-determinism error) strands them. ``tests/replay/histories/`` holds the
histories of incidents recorded by an earlier version of the code; they must replay
on this one. A change that cannot replay them needs ``workflow.patched`` — or, when
nothing can be running any more, new recordings:
``REMEDIATOR_RECORD_HISTORIES=1 pytest tests/replay/test_replay.py``.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from remediator.approval_proof import sign
from remediator.internal_key import internal_keys
from remediator.models.approval import ApprovalRequest
from remediator.models.incident_number import counter_id
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from starters.routes import route_of
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workers.main import replayer, running_worker
from workflows.verify import VerifyWorkflow, WindowChange

HISTORIES = Path(__file__).parent / "histories"
# Recordings of each code generation are kept: "approved-*" are incidents of the first
# (ids derived from the alert group), "numbered-*" of numbered occurrences, "sealed-*"
# of sealed internal signals with one marker per patch (before one marker per release),
# "rails-*" of release-2026-12-d (the rails as activities, one after another) and
# "early-*" of release-2026-12-e (admission beside triage, one marker per execution).
RECORDING = "sealed"
PHASES = ("", "/detect", "/triage", "/mitigate", "/verify", "/postmortem")
# Recordings seal their internal signals with this key, so they replay with it (a test
# key: it guards nothing real).
RECORDING_KEY = "replay-recordings-internal-key"


def _replayer(keys: list[bytes] | None = None) -> Replayer:
    # Histories recorded before signals were sealed replay with any key.
    return replayer(keys or [RECORDING_KEY.encode()])


async def _approved_incident(client: Client, settings: Settings,
                             redis_client: aioredis.Redis) -> tuple[str, str]:
    """An incident that touches most workflow paths: a risky step approved by Update,
    a verify window extended by Update, notifications, the postmortem draft."""
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestApprovalAlert", case=case)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    incident_id = (await incidents.open_or_join(batch)).id
    group_id = route_of(batch).workflow_id

    async def pending() -> str | None:
        waiting = await incidents.pending(incident_id)
        return waiting[0].plan_hash if waiting else None

    plan_hash = await eventually(pending, timeout=60, what="approval request")
    await incidents.decide(incident_id, sign(incident_id, ApprovalRequest(
        step="risky-flip", approver="alice", plan_hash=plan_hash, reason="replay", approve=True),
        "tok-alice", datetime.now(UTC)))
    window = client.get_workflow_handle_for(VerifyWorkflow.run, f"{incident_id}/verify")

    async def extended() -> bool:
        try:
            await window.execute_update(VerifyWorkflow.adjust_window,
                                        WindowChange(by="bob", extend_seconds=1.0))
        except WorkflowUpdateFailedError:  # the window is not open yet
            return False
        return True

    await eventually(extended, timeout=60, what="verify window extended")
    await wait_done(incidents, incident_id)
    return incident_id, group_id


async def _histories(client: Client, incident_id: str, group_id: str) -> list[WorkflowHistory]:
    """The incident's and its phases' histories, then its alert group's and the year's
    incident counter's."""
    ids = [incident_id + phase for phase in PHASES]
    ids += [group_id, counter_id(datetime.now(UTC).year)]
    return [await client.get_workflow_handle(workflow_id).fetch_history() for workflow_id in ids]


@pytest.fixture
def approving(settings: Settings) -> Settings:
    return settings.model_copy(update={"approvers": ["alice"], "verify_window_p2_p3_seconds": 8.0,
                                       "api_tokens": SecretStr("alice=tok-alice"),
                                       "internal_key": SecretStr(RECORDING_KEY)})


async def test_a_fresh_incident_replays_on_the_current_code(
    approving: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    async with running_worker(client, approving):
        incident_id, group_id = await _approved_incident(client, approving, redis_client)
    histories = await _histories(client, incident_id, group_id)
    assert all(h.events for h in histories)
    kinds = {e.WhichOneof("attributes") for h in histories for e in h.events}
    assert "workflow_execution_update_accepted_event_attributes" in kinds
    for history in histories:
        await _replayer(internal_keys(approving)).replay_workflow(history)
    if os.environ.get("REMEDIATOR_RECORD_HISTORIES"):
        names = ["incident" + phase.replace("/", "-") for phase in PHASES]
        ids = {}
        for history, name in zip(histories, [*names, "alert-group", "counter"], strict=True):
            (HISTORIES / f"{RECORDING}-{name}.json").write_text(history.to_json())
            ids[f"{RECORDING}-{name}"] = history.workflow_id
        (HISTORIES / f"{RECORDING}.ids").write_text(json.dumps(ids, indent=1) + "\n")


def _recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def _workflow_id(path: Path) -> str:
    """The id the history was recorded under: a sealed signal names its receiver, so a
    recording with sealed signals replays under its own id (kept in ``<generation>.ids``)."""
    ids = HISTORIES / (path.stem.split("-")[0] + ".ids")
    return str(json.loads(ids.read_text())[path.stem]) if ids.exists() else path.stem


@pytest.mark.parametrize("path", _recorded(), ids=[p.stem for p in _recorded()])
async def test_recorded_history_replays_on_the_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(_workflow_id(path), path.read_text())
    await _replayer().replay_workflow(history)
