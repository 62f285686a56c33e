"""A sink that never answers does not hold an incident open: each delivery has a budget,
a delivery out of budget is recorded in the timeline, and the incident completes."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client, WorkflowExecutionStatus

from remediator.models.incident import TimelineEntry
from remediator.settings import Settings, SinkConfig
from tests.e2e.comms.helpers import Incident, _async, _mine
from tests.support.polling import eventually
from tests.support.receivers import WebhookReceiver
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker
from workflows.incident_models import IncidentView

FOREVER = 10**9


def _sinks(comms: Settings, dead: WebhookReceiver, good: WebhookReceiver,
           budget: float) -> Settings:
    return comms.model_copy(update={
        "sinks": [SinkConfig(name="dead", kind="slack", url=dead.url),
                  SinkConfig(name="good", kind="slack", url=good.url)],
        "delivery_budget_seconds": budget, "verify_window_p2_p3_seconds": 2.0})


async def _completed(client: Client, incident: Incident) -> IncidentView:
    """The incident's workflow has completed; its final view (the workflow's result)."""
    handle = client.get_workflow_handle(incident.id, result_type=IncidentView)

    async def completed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(completed, timeout=60, what=f"{incident.id} completed")
    view: IncidentView = await handle.result()
    return view


def _announced(timeline: list[TimelineEntry]) -> list[TimelineEntry]:
    return [e for e in timeline
            if e.kind.startswith("notification.") and e.kind != "notification.failed"]


def _failed(timeline: list[TimelineEntry]) -> list[TimelineEntry]:
    return [e for e in timeline if e.kind == "notification.failed"]


def _assert_every_message_failed_once_on_dead_and_reached_good_once(
        view: IncidentView, incident: Incident, dead: WebhookReceiver,
        good: WebhookReceiver) -> None:
    announced, failed = _announced(view.timeline), _failed(view.timeline)
    delivered = [p.body["message_id"] for p in good.posts
                 if p.body["incident_id"] == incident.id]
    assert len(delivered) == len(set(delivered)) == len(announced), (delivered, announced)
    assert len(failed) == len(announced), [e.detail for e in failed]
    for mid in delivered:
        [entry] = [e for e in failed if f"(message {mid})" in e.detail]
        assert "to sink dead: no delivery within its" in entry.detail, entry.detail
    tried = {p.body["message_id"] for p in dead.refused if p.body["incident_id"] == incident.id}
    assert tried == set(delivered)
    # The sink's URL is its credential: neither it nor its address reaches the timeline.
    assert not any(str(dead.port) in e.detail or "127.0.0.1" in e.detail for e in view.timeline)


async def test_a_sink_failing_forever_is_recorded_and_the_incident_completes(
    comms: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    with WebhookReceiver(fail_first=FOREVER, fail_status=500) as dead, \
            WebhookReceiver() as good:
        settings = _sinks(comms, dead, good, budget=2.0)
        incident = Incident(client, settings)
        await redis_client.set(f"health:{incident.case}", "ok")
        async with running_worker(client, settings):
            await incident.open()
            done = await incident.done()
            assert done.status == "resolved"
            view = await _completed(client, incident)
    kinds = {e.detail.split(" ")[0] for e in _failed(view.timeline)}
    assert {"initial", "phase_update", "resolution"} <= kinds, kinds
    _assert_every_message_failed_once_on_dead_and_reached_good_once(view, incident, dead, good)


async def _draining(incident: Incident, dead: WebhookReceiver) -> IncidentView | None:
    """Phase done, the resolution notice still being retried on the dead sink."""
    view = await incident.view()
    attempts = [p for p in dead.refused
                if p.body["incident_id"] == incident.id and p.body["kind"] == "resolution"]
    return view if view.phase == "done" and len(attempts) >= 2 else None


async def test_worker_killed_while_a_failing_delivery_is_retried_completes_once(
    comms: Settings, client: Client, redis_client: aioredis.Redis, tmp_path: Path,
) -> None:
    with WebhookReceiver(fail_first=FOREVER, fail_status=500) as dead, \
            WebhookReceiver() as good:
        settings = _sinks(comms, dead, good, budget=8.0)
        incident = Incident(client, settings)
        await redis_client.set(f"health:{incident.case}", "ok")
        with WorkerProcess(settings, tmp_path) as first:
            await incident.open()
            view = await eventually(lambda: _draining(incident, dead), timeout=60,
                                    what="done, the resolution being retried")
            assert not any(e.detail.startswith("resolution") for e in _failed(view.timeline))
            first.kill()
        with WorkerProcess(settings, tmp_path):
            view = await _completed(client, incident)
            await eventually(lambda: _async(bool(_mine(good, incident.id, "resolution"))),
                             timeout=10, what="the resolution on the good sink")
    [resolution] = [e for e in _failed(view.timeline) if e.detail.startswith("resolution")]
    assert resolution.phase == "done"
    _assert_every_message_failed_once_on_dead_and_reached_good_once(view, incident, dead, good)
