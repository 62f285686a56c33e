"""One incident = one occurrence: an alert group that fires again after its incident
closed opens a new, numbered incident that really acts and names the previous one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy

from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.alerts.common import incident_id_for
from starters.incidents import Incidents
from tests.e2e.incidents.helpers import FLAGS, number, send
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentInput


async def test_a_group_firing_three_times_makes_three_linked_incidents_that_each_act(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    # Linking, not the rails: no cooldown and no "fix does not hold" block here (the
    # rails' own tests hold a recurrence back: tests/e2e/test_safety_rails.py).
    unguarded = settings.model_copy(update={"guard_cooldown_seconds": 0.0,
                                            "guard_recurrences_to_block": 10})
    async with running_worker(client, unguarded):
        await _three_linked_incidents(client, settings, redis_client)


async def _three_linked_incidents(client: Client, settings: Settings,
                                  redis_client: aioredis.Redis) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestFlagAlert", case=case)
    ids: list[str] = []
    for round_ in range(1, 4):
        await redis_client.hset(FLAGS, f"test-{case}", "on")  # the fault is back
        opened = await send(incidents, payload)
        assert opened.created, f"round {round_}: the group fired again, a new incident opens"
        repeat = await send(incidents, payload)
        assert (repeat.id, repeat.created) == (opened.id, False), "a repeat joins the open one"
        view = await wait_done(incidents, opened.id)
        assert view.status == "resolved"
        assert [s.state for s in view.steps] == ["applied"]
        assert await redis_client.hget(FLAGS, f"test-{case}") == "off"
        assert int(await redis_client.hget(FLAGS + ":writes", f"test-{case}") or 0) == round_
        ids.append(opened.id)
        notes = [e.detail for e in view.timeline if e.kind == "incident.recurrence"]
        if round_ == 1:
            assert notes == [] and view.previous is None
            continue
        assert view.previous == ids[-2]
        ordinal = {2: "2nd", 3: "3rd"}[round_]
        assert len(notes) == 1 and notes[0].startswith(f"recurrence of {ids[-2]}, resolved ")
        assert notes[0].endswith(f"; {ordinal} occurrence in 24 h")
        postmortem = await incidents.postmortem(opened.id)
        assert f"recurrence of {ids[-2]}" in postmortem
    numbers = [number(i) for i in ids]
    assert numbers == sorted(set(numbers)), "numbers increase and are never reused"
    documents = {await incidents.postmortem(i) for i in ids}
    assert len(documents) == 3, "three postmortems, one per occurrence"


async def test_a_resolved_alert_for_no_open_incident_opens_nothing(
    settings: Settings, client: Client, worker: None,
) -> None:
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestFlagAlert", case="x", status="resolved")
    opened = await send(incidents, payload)
    assert (opened.created, opened.note) == (False, "resolved alert for no open incident: ignored")
    found = [w async for w in client.list_workflows(
        f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'")]
    assert found == []


async def test_an_incident_opened_before_numbering_keeps_its_alerts(
    settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
) -> None:
    """Running incidents of the previous version (ids derived from the group) finish on
    the new code: their group's alerts still reach them, not a new incident."""
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "failing")  # verification fails: hand-over
    payload = alertmanager_payload("TestFlagAlert", case=case)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    legacy_id = incident_id_for("alertmanager", batch.group_key)
    await client.start_workflow(
        IncidentWorkflow.run, IncidentInput(incident_id=legacy_id), id=legacy_id,
        task_queue=settings.task_queue, start_signal="alerts", start_signal_args=[batch],
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    incidents = Incidents(client, settings.task_queue)

    async def escalated() -> bool:
        return (await incidents.view(legacy_id)).status == "escalated"

    await eventually(escalated, timeout=60, what="legacy incident handed over")
    resolved = alertmanager_payload("TestFlagAlert", case=case, status="resolved",
                                    group_key=payload["groupKey"])
    answer = await send(incidents, resolved)
    assert (answer.id, answer.created) == (legacy_id, False)
    view = await wait_done(incidents, legacy_id)
    assert view.status == "resolved"
    description = await client.get_workflow_handle(legacy_id).describe()
    assert description.status in (WorkflowExecutionStatus.RUNNING,
                                  WorkflowExecutionStatus.COMPLETED)
