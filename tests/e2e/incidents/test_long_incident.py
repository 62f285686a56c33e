"""Bounded histories: an incident handed over to humans for a long time continues as new,
run after run, and still reads as one incident — its timeline, roles, acknowledgement,
pages, updates and postmortem — with no run's history growing past the threshold."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from activities.notify import sent_marker
from remediator.internal_key import internal_keys
from remediator.models.comms import Acknowledgement, Role, RoleAssignment
from remediator.settings import Settings, SinkConfig
from starters.incidents import Incidents
from tests.e2e.incidents.helpers import send
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from tests.support.receivers import Received, WebhookReceiver
from tests.support.worker_proc import WorkerProcess
from workers.main import replayer, running_worker
from workflows.incident_models import IncidentView, Resolution

THRESHOLD = 120  # events per run before the incident continues as new
# What a run may add past the threshold: the clocks stop (timers cancelled), sends in
# flight finish, the continue-as-new task itself.
OVERSHOOT = 40
MATRIX = [(6.0, "Engineering lead", False), (20.0, "VP Engineering", False),
          (34.0, "CTO", False)]


@pytest.fixture
def slack() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def long_running(settings: Settings, slack: WebhookReceiver) -> Settings:
    """Pages every 2 s until acknowledged, updates every 1 s, a three-step matrix."""
    overrides: dict[str, Any] = {
        "cadence_seconds": {"P0": 1.0, "P1": 1.0, "P2": 1.0, "P3": 1.0},
        "page_again_seconds": 2.0, "escalate_after_seconds": {}, "matrix": MATRIX,
        "customer_cadence_seconds": 3600.0,
    }
    return settings.model_copy(update={
        "sinks": [SinkConfig(name="slack", kind="slack", url=slack.url)],
        "comms_overrides": overrides, "oncall": "alice", "history_events_per_run": THRESHOLD,
        "sticky_timeout_seconds": 1.0})


class Handed:
    """A TestFlagAlert incident whose verification fails, so it is handed over."""

    def __init__(self, client: Client, settings: Settings, redis_client: aioredis.Redis) -> None:
        self.client, self.redis = client, redis_client
        self.incidents = Incidents(client, settings.task_queue)
        self.case = uuid.uuid4().hex[:8]
        self.payload = alertmanager_payload("TestFlagAlert", case=self.case)
        self.id, self.first_run = "", ""

    async def open(self) -> None:
        await self.redis.set(f"health:{self.case}", "failing")
        self.id = (await send(self.incidents, self.payload)).id
        self.first_run = (await self.client.get_workflow_handle(self.id).describe()).run_id

    async def resolve_alert(self) -> None:
        resolved = alertmanager_payload("TestFlagAlert", case=self.case, status="resolved",
                                        group_key=self.payload["groupKey"])
        await send(self.incidents, resolved)

    async def finished(self) -> None:
        """The last run completed: phase ``done`` is shown a little before (the incident
        still waits for its last messages and its group's close signal)."""
        await self.client.get_workflow_handle(self.id).result()

    async def runs(self) -> list[WorkflowHistory]:
        """Every run's history so far, first to current (following continue-as-new)."""
        histories, run_id = [], self.first_run
        while run_id:
            history = await self.client.get_workflow_handle(self.id, run_id=run_id).fetch_history()
            histories.append(history)
            last = history.events[-1]
            run_id = (last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                      if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                      else "")
        return histories

    async def at_least_runs(self, count: int, timeout: float = 90) -> None:
        async def enough() -> bool:
            return len(await self.runs()) >= count

        await eventually(enough, timeout=timeout, every=0.5, what=f"{count} runs of {self.id}")

    async def view(self) -> IncidentView:
        return await self.incidents.view(self.id)


def _mine(slack: WebhookReceiver, incident_id: str, kind: str | None = None) -> list[Received]:
    return [p for p in slack.posts if p.body["incident_id"] == incident_id
            and (kind is None or p.body["kind"] == kind)]


def _paged(slack: WebhookReceiver, incident_id: str, who: str) -> list[Received]:
    return [p for p in _mine(slack, incident_id, "page")
            if p.body["text"].startswith(f"Paging {who}:")]


def _escalated(event: HistoryEvent) -> bool:
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
    status = fields.indexed_fields.get("RemediatorStatus")
    return status is not None and status.data == b'"escalated"'


def _assert_bounded(histories: list[WorkflowHistory]) -> None:
    """Every run but the last continued as new; none grew much past the threshold (the
    first run also holds detect → verify, so it may hand on as soon as it hands over)."""
    *handed_on, last = histories
    for history in handed_on:
        assert history.events[-1].event_type == \
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert last.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    # Where the waiting began: the hand-over's status, escalated, indexed.
    handed_over = max(i for i, e in enumerate(histories[0].events) if _escalated(e))
    first_limit = max(THRESHOLD, handed_over) + OVERSHOOT
    assert len(histories[0].events) <= first_limit, (len(histories[0].events), first_limit)
    for history in histories[1:-1]:
        assert len(history.events) <= THRESHOLD + OVERSHOOT, len(history.events)


def _assert_delivered_once(slack: WebhookReceiver, incident_id: str) -> None:
    ids = Counter(p.body["message_id"] for p in _mine(slack, incident_id))
    assert ids and max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
    for _, who, _ in MATRIX:
        assert len(_paged(slack, incident_id, who)) == 1, who


async def test_a_long_handed_over_incident_continues_as_new_and_stays_one_incident(
    long_running: Settings, client: Client, redis_client: aioredis.Redis,
    slack: WebhookReceiver,
) -> None:
    incident = Handed(client, long_running, redis_client)
    async with running_worker(client, long_running):
        await incident.open()
        await incident.at_least_runs(2)
        before = {e.kind for e in (await incident.view()).timeline}
        assert {"alert.firing", "verify.failed", "incident.handed_over"} <= before
        await incident.incidents.assign(incident.id, RoleAssignment(
            role=Role.TECHNICAL_LEAD, user="bob", by="alice"))
        await incident.at_least_runs(3)
        pages_before_ack = len(_paged(slack, incident.id, "alice"))
        await incident.incidents.acknowledge(incident.id, Acknowledgement(user="carol"))
        await eventually(lambda: _async(bool(_paged(slack, incident.id, "CTO"))), timeout=60,
                         what="the matrix's last step")
        await incident.at_least_runs(4)
        await incident.resolve_alert()
        view = await wait_done(incident.incidents, incident.id)
        postmortem = await incident.incidents.postmortem(incident.id)
        await incident.finished()
    histories = await incident.runs()
    assert len(histories) >= 4
    _assert_bounded(histories)
    for history in histories:  # the carried runs replay like any other
        await replayer(internal_keys(long_running)).replay_workflow(history)
    kinds = [e.kind for e in view.timeline]
    assert kinds.count("incident.handed_over") == 1, "the later runs went straight back to waiting"
    assert {"alert.firing", "verify.failed", "incident.acknowledged", "alert.resolved",
            "incident.resolved"} <= set(kinds)
    assert view.status == "resolved" and view.phase == "done"
    assert view.roles == {"incident_commander": "alice", "technical_lead": "bob"}
    assert view.acknowledged_by == "carol"
    assert [s.state for s in view.steps] == ["undone"]
    # Paging and the cadence went on across runs until the acknowledgement, and paging
    # stopped there.
    first_ended = histories[0].events[-1].event_time.ToDatetime(tzinfo=UTC).timestamp()
    assert any(p.at > first_ended for p in _paged(slack, incident.id, "alice"))
    assert any(p.at > first_ended for p in _mine(slack, incident.id, "status_update"))
    assert pages_before_ack >= 3
    assert len(_paged(slack, incident.id, "alice")) <= pages_before_ack + 2
    _assert_delivered_once(slack, incident.id)
    updates = _mine(slack, incident.id, "status_update")
    assert len(updates) >= 10, "the cadence went on in every run"
    assert "verify.failed" in postmortem and "incident.acknowledged" in postmortem
    assert "technical_lead: bob" in postmortem


async def test_a_worker_killed_mid_run_the_incident_goes_on_and_sends_each_message_once(
    long_running: Settings, client: Client, redis_client: aioredis.Redis,
    slack: WebhookReceiver, tmp_path: Path,
) -> None:
    incident = Handed(client, long_running, redis_client)
    with WorkerProcess(long_running, tmp_path) as first:
        await incident.open()
        await incident.at_least_runs(2)
        runs = len(await incident.runs())
        sent = len(_mine(slack, incident.id))
        await eventually(lambda: _async(len(_mine(slack, incident.id)) >= sent + 3), timeout=30,
                         what="a few messages into the run")
        # Not in the instant between a webhook's answer and the worker noting it as sent:
        # a kill there delivers that message again (no webhook takes an idempotency key).
        await eventually(lambda: _all_noted(redis_client, slack, incident.id), timeout=10,
                         what="every delivered message noted as sent")
        first.kill()
    with WorkerProcess(long_running, tmp_path):
        await incident.at_least_runs(runs + 2)
        await eventually(lambda: _async(bool(_paged(slack, incident.id, "CTO"))), timeout=60,
                         what="the matrix's last step")
        await incident.incidents.resolve(incident.id, Resolution(by="dave", reason="fixed by hand"))
        view = await wait_done(incident.incidents, incident.id)
        await incident.finished()
    _assert_bounded(await incident.runs())
    _assert_delivered_once(slack, incident.id)
    assert [e.kind for e in view.timeline].count("incident.handed_over") == 1
    assert view.status == "resolved"


async def _all_noted(redis: aioredis.Redis, slack: WebhookReceiver, incident_id: str) -> bool:
    ids = {p.body["message_id"] for p in _mine(slack, incident_id)}
    noted = await redis.exists(*(sent_marker(i, "slack") for i in ids))
    return bool(noted == len(ids))


async def _async(value: bool) -> bool:
    return value
