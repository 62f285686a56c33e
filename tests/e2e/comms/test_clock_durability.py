"""Durable clocks: a worker SIGKILLed while the severity ladder or the review reminder is
counting down; the step still happens once, on its original schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from tests.e2e.comms.helpers import Incident, _async, _mine, _with
from tests.support.polling import eventually
from tests.support.receivers import WebhookReceiver
from tests.support.worker_proc import WorkerProcess
from workflows.incident_models import IncidentView
from workflows.postmortem import PostmortemEdit, PostmortemWorkflow

LADDER = 4.0
SLACK = 2.5  # sticky-queue hand-over (1 s) and task latency on a loaded 2-core machine


async def _past(moment: datetime) -> bool:
    return datetime.now(UTC) >= moment


async def test_worker_killed_mid_ladder_escalates_once_on_schedule(
    comms: Settings, client: Client, slack: WebhookReceiver, tmp_path: Path
) -> None:
    settings = _with(comms, escalate_after_seconds={"P2": LADDER, "P1": 3600.0})
    incident = Incident(client, settings)
    with WorkerProcess(settings, tmp_path) as first:
        await incident.open("NoRunbookAlert")
        view = await eventually(lambda: _declared(incident), timeout=30, what="declared")
        declared = next(e.at for e in view.timeline if e.kind == "severity.assigned")
        await eventually(lambda: _past(declared + timedelta(seconds=LADDER / 2)), timeout=10,
                         what="half the ladder step")
        first.kill()
    with WorkerProcess(settings, tmp_path):
        view = await eventually(lambda: _at_p1(incident), timeout=30, what="escalation to P1")
        await incident.resolve()
        view = await incident.done()
    [step] = [e for e in view.timeline if e.kind == "severity.escalated"]
    waited = (step.at - declared).total_seconds()
    assert LADDER <= waited < LADDER + SLACK, (waited, [(e.kind, e.at.time().isoformat())
                                                       for e in view.timeline])
    assert len([p for p in _mine(slack, incident.id, "page")
                if "escalated to P1" in p.body["text"]]) == 1


async def _declared(incident: Incident) -> IncidentView | None:
    view = await incident.view()
    return view if any(e.kind == "severity.assigned" for e in view.timeline) else None


async def _at_p1(incident: Incident) -> IncidentView | None:
    view = await incident.view()
    return view if view.severity == "P1" else None


async def test_worker_killed_before_the_review_is_due_reminds_once(
    comms: Settings, client: Client, redis_client: aioredis.Redis, slack: WebhookReceiver,
    tmp_path: Path,
) -> None:
    settings = _with(comms, review_due_seconds={s: 4.0 for s in ("P0", "P1", "P2", "P3")},
                     action_item_due_seconds=3600.0)
    settings = settings.model_copy(update={"verify_window_p2_p3_seconds": 0.0})
    incident = Incident(client, settings)
    await redis_client.set(f"health:{incident.case}", "ok")
    with WorkerProcess(settings, tmp_path) as first:
        await incident.open()
        await incident.done()
        first.kill()
    with WorkerProcess(settings, tmp_path):
        await eventually(lambda: _async(bool(_mine(slack, incident.id, "review_reminder"))),
                         timeout=30, what="the review reminder")
        await incident.incidents.edit_postmortem(incident.id, PostmortemEdit(
            by="bob", review_done=True, close_action_items=["AI-1", "AI-2"]))
        review = client.get_workflow_handle_for(PostmortemWorkflow.run, f"{incident.id}/postmortem")
        await review.result()  # the review is over: no reminder can follow
    assert len(_mine(slack, incident.id, "review_reminder")) == 1
