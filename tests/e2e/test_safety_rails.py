"""Safety rails across incidents, end to end (README "Safety rails"): real alerts through
the webhook server, real workers, the real guard workflow, flags in the real Redis.

Each test configures short rails (lock waits, cooldowns, blocks of seconds) and a guard
of its own (the ``settings`` fixture), so no test's lock or pause reaches another's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError

from activities.guard import GuardLink
from remediator.models.guard import (
    GUARD_TASK_QUEUE,
    STEP_FINISHED,
    STEP_STARTED,
    StepFinished,
    StepRequest,
    StepSlot,
)
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.guard import Guard
from starters.incidents import Incidents
from tests.support.alertmanager import AlertmanagerServer, add_silence, post_alert
from tests.support.alerts import alertmanager_payload
from tests.support.approvals import Case, approval_settings
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker
from workflows.guard.models import GuardStatus, MaintenanceRequest
from workflows.incident_models import IncidentView
from workflows.verify import VerifyWorkflow, WindowChange

AM = "/v1/alerts/alertmanager"
FLAGS = "remediator:flags:production"
# Long enough that a second incident reaches its first step inside it on a loaded machine.
COOLDOWN = 12.0


class Rig:
    """Alerts of one flag (``test-<case>``), each group its own incident."""

    def __init__(self, http: httpx.AsyncClient, client: Client, settings: Settings,
                 redis_client: aioredis.Redis) -> None:
        self.http, self.redis = http, redis_client
        self.incidents = Incidents(client, settings.task_queue)
        self.case = uuid.uuid4().hex[:8]
        self.flag = f"test-{self.case}"

    async def healthy(self, ok: bool) -> None:
        await self.redis.set(f"health:{self.case}", "ok" if ok else "failing")

    async def fire(self, alertname: str = "TestFlagAlert", group_key: str | None = None,
                   status: str = "firing") -> tuple[str, dict[str, Any]]:
        payload = alertmanager_payload(alertname, case=self.case, group_key=group_key,
                                       status=status)
        resp = await self.http.post(AM, json=payload)
        assert resp.status_code == 202, resp.text
        return resp.json()["incidents"][0]["id"], payload

    async def resolve(self, payload: dict[str, Any]) -> None:
        alertname = payload["commonLabels"]["alertname"]
        await self.fire(alertname, group_key=payload["groupKey"], status="resolved")

    async def until(self, incident_id: str, ok: Callable[[IncidentView], bool],
                    what: str, timeout: float = 60) -> IncidentView:
        async def check() -> IncidentView | None:
            view = await self.incidents.view(incident_id)
            return view if ok(view) else None
        return await eventually(check, timeout=timeout, what=f"{incident_id}: {what}")

    async def handed_over(self, incident_id: str) -> IncidentView:
        return await self.until(incident_id, lambda v: v.status == "escalated", "hand-over")

    async def done(self, incident_id: str) -> IncidentView:
        return await wait_done(self.incidents, incident_id)

    async def writes(self) -> int:
        """How many times the flag was written (the store counts them)."""
        return int(await self.redis.hget(FLAGS + ":writes", self.flag) or 0)


async def end_window(client: Client, incident_id: str) -> None:
    window = client.get_workflow_handle_for(VerifyWorkflow.run, f"{incident_id}/verify")
    await window.execute_update(VerifyWorkflow.adjust_window,
                                WindowChange(by="test", end_now=True))


def _kinds(view: IncidentView) -> list[str]:
    return [e.kind for e in view.timeline]


def _entry(view: IncidentView, kind: str) -> str:
    return next(e.detail for e in view.timeline if e.kind == kind)


def _rails(settings: Settings, **values: float) -> Settings:
    return settings.model_copy(update={f"guard_{k}": v for k, v in values.items()})


async def another_step_in_flight(client: Client, settings: Settings
                                 ) -> tuple[GuardLink, StepRequest]:
    """Another incident's step holds a fleet slot (taken through the guard directly)."""
    busy = StepRequest(incident_id="INC-2099-0001", action="kubernetes.scale",
                       target="kubernetes:default/other", scope="kubernetes:default")
    link = GuardLink(client, settings.guard_workflow_id, GUARD_TASK_QUEUE,
                     settings.guard_policy())
    assert (await link.update(STEP_STARTED, busy, StepSlot)).granted
    return link, busy


async def test_two_incidents_on_one_target_one_mutates_the_other_hands_over(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    # The first incident holds its flag through its verify window (ended by hand once the
    # second has handed over); the second waits 1 s for it.
    held = _rails(settings, lock_wait_seconds=1.0, cooldown_seconds=0.0).model_copy(
        update={"verify_window_p2_p3_seconds": 600.0})
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, held):
        rig = Rig(http, client, held, redis_client)
        await rig.healthy(True)
        first, _ = await rig.fire()
        await rig.until(first, lambda v: "verify.window_started" in _kinds(v), "verifying")
        await redis_client.hset(FLAGS, rig.flag, "on")  # so a second write would show
        second, second_alert = await rig.fire()
        assert second != first
        view = await rig.handed_over(second)
        await rig.resolve(second_alert)
        second_done = await rig.done(second)
        await end_window(client, first)
        first_done = await rig.done(first)
    refusal = _entry(view, "guard.refused")
    assert f"target busy: flag:{rig.flag}@default held by {first}" in refusal
    assert "guard.waiting" in _kinds(view)
    assert second_done.steps == []  # it never planned, let alone applied, a step
    assert await redis_client.hget(FLAGS, rig.flag) == "on"  # the second changed nothing
    assert await rig.writes() == 1
    assert [s.state for s in first_done.steps] == ["applied"]
    assert "guard.locked" in _kinds(first_done) and "guard.released" in _kinds(first_done)
    assert "automation held back" in (second_done.postmortem or "") or \
        "safety rails" in _entry(second_done, "incident.handed_over")


async def test_an_incident_waiting_for_a_target_goes_on_once_it_frees(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    waits = _rails(settings, lock_wait_seconds=120.0, cooldown_seconds=0.0).model_copy(
        update={"verify_window_p2_p3_seconds": 600.0})
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, waits):
        rig = Rig(http, client, waits, redis_client)
        await rig.healthy(True)
        first, _ = await rig.fire()
        await rig.until(first, lambda v: "guard.locked" in _kinds(v), "locked")
        await rig.until(first, lambda v: "verify.window_started" in _kinds(v), "verifying")
        second, _ = await rig.fire()
        await rig.until(second, lambda v: "guard.waiting" in _kinds(v), "waiting")
        await end_window(client, first)
        first_done = await rig.done(first)
        await rig.until(second, lambda v: "verify.window_started" in _kinds(v), "verifying")
        await end_window(client, second)
        second_done = await rig.done(second)
    released = next(e.at for e in first_done.timeline if e.kind == "guard.released")
    locked = next(e.at for e in second_done.timeline if e.kind == "guard.locked")
    assert locked >= released
    assert [s.state for s in second_done.steps] == ["applied"]


async def test_the_same_action_on_the_same_target_waits_out_its_cooldown(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    cool = _rails(settings, cooldown_seconds=COOLDOWN)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, cool):
        rig = Rig(http, client, cool, redis_client)
        await rig.healthy(True)
        first, _ = await rig.fire()
        applied_at = next(s for s in (await rig.done(first)).timeline
                          if s.kind == "mitigation.applied").at
        await redis_client.hset(FLAGS, rig.flag, "on")
        second, second_alert = await rig.fire()
        view = await rig.handed_over(second)
        assert await redis_client.hget(FLAGS, rig.flag) == "on"
        await rig.resolve(second_alert)
        await rig.done(second)

        async def cooled() -> bool:
            return datetime.now(UTC) > applied_at + timedelta(seconds=COOLDOWN + 0.5)
        await eventually(cooled, timeout=30, what="the cooldown over")
        third, _ = await rig.fire()
        third_done = await rig.done(third)
    assert "cooldown: feature_flag.set on flag:" in _entry(view, "guard.refused")
    assert [s.state for s in third_done.steps] == ["applied"]
    assert await redis_client.hget(FLAGS, rig.flag) == "off"
    assert await rig.writes() == 2  # the first incident's and the third's


async def test_consecutive_failed_verifications_block_the_runbook_on_its_target(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    block = _rails(settings, failures_to_block=2, block_seconds=600.0, cooldown_seconds=0.0)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, block):
        rig = Rig(http, client, block, redis_client)
        await rig.healthy(False)
        failed = []
        for _ in range(2):
            incident_id, alert = await rig.fire()
            view = await rig.handed_over(incident_id)
            assert view.verdict is not None and not view.verdict.passed
            await rig.resolve(alert)
            failed.append(await rig.done(incident_id))
        await redis_client.hset(FLAGS, rig.flag, "on")
        blocked, alert = await rig.fire()
        view = await rig.handed_over(blocked)
        await rig.resolve(alert)
        await rig.done(blocked)
        status = await Guard(client, block).status()
    assert "guard.blocked" in _kinds(failed[1])
    refusal = _entry(view, "guard.refused")
    assert "test-flag" in refusal and f"flag:{rig.flag}@default" in refusal
    assert await redis_client.hget(FLAGS, rig.flag) == "on"
    assert any(b.runbook == "test-flag" for b in status.blocks)


async def test_a_fix_that_does_not_hold_blocks_the_runbook(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    # The group fires again after its fix passed verification: once is enough here.
    recur = _rails(settings, recurrences_to_block=1, cooldown_seconds=0.0)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, recur):
        rig = Rig(http, client, recur, redis_client)
        await rig.healthy(True)
        first, alert = await rig.fire()
        first_done = await rig.done(first)
        assert first_done.verdict is not None and first_done.verdict.passed
        again, _ = await rig.fire(group_key=alert["groupKey"])
        assert again != first
        view = await rig.handed_over(again)
    assert "guard.recurrence" in _kinds(view)
    assert "guard.refused" in _kinds(view)


async def test_an_alert_resolved_during_the_approval_wait_changes_nothing(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    approving = approval_settings(settings)
    async with running_worker(client, approving):
        case = Case(client, approving, redis_client)
        pending = await case.open()
        resolved = alertmanager_payload("TestApprovalAlert", case=case.name, status="resolved",
                                        group_key=str(case.payload["groupKey"]))
        batch = parse_alertmanager(json.dumps(resolved).encode(), datetime.now(UTC), 10)
        await case.incidents.open_or_join(batch)

        async def seen() -> bool:
            return "alert.resolved" in _kinds(await case.incidents.view(case.id))
        await eventually(seen, timeout=30, what="the alert resolved")
        await case.decide("alice", pending.plan_hash)
        done = await case.done()
        status = await Guard(client, approving).status()
    assert [s.state for s in done.steps] == ["skipped"]
    assert "alert resolved before step risky-flip" in done.steps[0].detail
    assert await case.writes() == 0 and await case.flag_value() == "on"
    # The slot asked for beside the check was given back at once.
    assert status.in_flight == 0 and status.slots == []


async def test_pause_and_a_maintenance_window_run_incidents_in_shadow_mode(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    guard = Guard(client, settings)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, settings):
        rig = Rig(http, client, settings, redis_client)
        await rig.healthy(True)
        await redis_client.hset(FLAGS, rig.flag, "on")
        await guard.pause("carol", "database failover drill")
        paused, alert = await rig.fire()
        paused_view = await rig.handed_over(paused)
        await rig.resolve(alert)
        await rig.done(paused)
        await guard.resume("carol")
        window = await guard.add_window(MaintenanceRequest(
            matchers=[f"case={rig.case}"], duration_seconds=600, reason="planned upgrade",
            created_by="dave"))
        windowed, alert = await rig.fire()
        window_view = await rig.handed_over(windowed)
        await rig.resolve(alert)
        await rig.done(windowed)
        assert await redis_client.hget(FLAGS, rig.flag) == "on"  # nothing changed so far
        await guard.end_window(window.id, "dave")
        live, _ = await rig.fire()
        live_done = await rig.done(live)
    for view in (paused_view, window_view):
        assert view.dry_run and [s.state for s in view.steps] == ["dry_run"]
    assert "carol" in _entry(paused_view, "guard.shadow")
    assert "database failover drill" in _entry(paused_view, "guard.shadow")
    assert "planned upgrade" in _entry(window_view, "guard.shadow")
    assert [s.state for s in live_done.steps] == ["applied"]
    assert await redis_client.hget(FLAGS, rig.flag) == "off"
    assert await rig.writes() == 1


async def test_the_fleet_cap_holds_a_step_back_and_the_incident_hands_over(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    capped = _rails(settings, max_in_flight=1, slot_wait_seconds=1.0)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, capped):
        rig = Rig(http, client, capped, redis_client)
        await rig.healthy(True)
        await redis_client.hset(FLAGS, rig.flag, "on")
        await another_step_in_flight(client, capped)
        incident_id, alert = await rig.fire()
        done_view = await rig.until(incident_id, lambda v: any(
            s.state == "skipped" for s in v.steps), "the step held back")
        await rig.resolve(alert)
        await rig.done(incident_id)
    assert "cap reached" in done_view.steps[0].detail
    assert await redis_client.hget(FLAGS, rig.flag) == "on" and await rig.writes() == 0


async def test_an_alert_resolved_while_its_step_waited_for_a_slot_changes_nothing(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    # The alerts are asked about beside the slot request; a step that then waits for its
    # slot must ask again once it has one, and give the slot back when they resolved.
    capped = _rails(settings, max_in_flight=1, slot_wait_seconds=120.0)
    guard = Guard(client, capped)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, capped):
        rig = Rig(http, client, capped, redis_client)
        await rig.healthy(True)
        await redis_client.hset(FLAGS, rig.flag, "on")
        link, busy = await another_step_in_flight(client, capped)
        incident_id, alert = await rig.fire()

        async def waiting() -> bool:
            return f"{incident_id}/mitigate" in (await guard.status()).waiters.get("", [])
        await eventually(waiting, timeout=60, what="the step waiting for a fleet slot")
        await rig.resolve(alert)
        await rig.until(incident_id, lambda v: "alert.resolved" in _kinds(v), "resolved")
        await link.update(STEP_FINISHED, StepFinished(**busy.model_dump()), StepSlot)
        done = await rig.done(incident_id)
        status = await guard.status()
    assert [s.state for s in done.steps] == ["skipped"]
    assert "alert resolved before step" in done.steps[0].detail
    assert await redis_client.hget(FLAGS, rig.flag) == "on" and await rig.writes() == 0
    assert status.in_flight == 0 and status.slots == []  # the slot it took is back


async def test_the_first_step_is_not_queued_behind_triage_or_a_second_round_trip(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
) -> None:
    # Issue 13's critical path: the targets lock while triage runs, and the mitigate
    # phase asks "still firing?" then "a fleet slot?" in one activity, the step right
    # after it; the verdict frees the locks in the same call that counts it.
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, settings):
        rig = Rig(http, client, settings, redis_client)
        await rig.healthy(True)
        incident_id, _ = await rig.fire()
        done = await rig.done(incident_id)
        incident = [e async for e in client.get_workflow_handle(incident_id)
                    .fetch_history_events()]
        mitigate = [e async for e in client.get_workflow_handle(f"{incident_id}/mitigate")
                    .fetch_history_events()]
    assert [s.state for s in done.steps] == ["applied"]
    assert "guard.released" in _kinds(done)
    assert _scheduled(incident, "guard_release") is None
    admit = _scheduled(incident, "guard_admit")
    triage_done = next(
        e.event_id for e in incident if e.HasField("child_workflow_execution_completed_event_attributes")
        and e.child_workflow_execution_completed_event_attributes.workflow_execution.workflow_id
        == f"{incident_id}/triage")
    assert admit is not None and admit < triage_done
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in mitigate if e.HasField("activity_task_scheduled_event_attributes")]
    assert scheduled[:2] == ["guard_step_started_if_firing", "set_flag"], scheduled


def _scheduled(history: list[HistoryEvent], activity: str) -> int | None:
    return next((e.event_id for e in history if e.HasField(
        "activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity), None)


async def test_an_alert_alertmanager_silences_is_never_acted_on(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
    alertmanager: AlertmanagerServer,
) -> None:
    consulting = settings.model_copy(update={"alertmanager_url": alertmanager.url})
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http, \
            running_worker(client, consulting):
        rig = Rig(http, client, consulting, redis_client)
        await rig.healthy(True)
        await redis_client.hset(FLAGS, rig.flag, "on")
        labels = {"alertname": "TestFlagAlert", "service": "checkout", "severity": "warning",
                  "case": rig.case}
        # The alert as Prometheus hands it to Alertmanager, silenced there by a human…
        await post_alert(alertmanager.url, labels)
        fingerprint = await eventually(lambda: _fingerprint(alertmanager.url, rig.case),
                                       timeout=10, what="the alert in Alertmanager")
        silence = await add_silence(alertmanager.url, labels, "erin", "vendor is on it")
        # …and as its webhook would have delivered it before the silence.
        payload = alertmanager_payload("TestFlagAlert", case=rig.case)
        payload["alerts"][0]["fingerprint"] = fingerprint
        resp = await http.post(AM, json=payload)
        incident_id = resp.json()["incidents"][0]["id"]
        view = await rig.until(incident_id, lambda v: bool(v.steps), "the step's outcome")
        await rig.fire(group_key=payload["groupKey"], status="resolved")
        await rig.done(incident_id)
    [step] = view.steps
    assert step.state == "skipped" and "alert silenced before step flip" in step.detail
    assert silence in step.detail and "erin" in step.detail
    assert await rig.writes() == 0


async def _fingerprint(url: str, case: str) -> str | None:
    async with httpx.AsyncClient() as http:
        alerts = (await http.get(f"{url}/api/v2/alerts", params={"filter": f'case="{case}"'},
                                 timeout=5)).json()
    return str(alerts[0]["fingerprint"]) if alerts else None


async def test_a_worker_killed_while_an_incident_holds_its_lock(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """SIGKILL mid-verify, the lock held: the new worker finishes the incident, the flag
    written once, and the lock released — not leaked, not taken twice."""
    held = _rails(settings, lock_wait_seconds=0.0, cooldown_seconds=0.0).model_copy(
        update={"verify_window_p2_p3_seconds": 600.0})
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http:
        rig = Rig(http, client, held, redis_client)
        await rig.healthy(True)
        with WorkerProcess(held, tmp_path) as first:
            incident_id, _ = await rig.fire()
            await rig.until(incident_id, lambda v: "verify.window_started" in _kinds(v),
                            "verifying")
            first.kill()
        with WorkerProcess(held, tmp_path):
            status = await eventually(lambda: _status(client, held), timeout=30,
                                      what="the guard answering")
            assert [lock.target for lock in status.locks] == [f"flag:{rig.flag}@default"]
            await end_window(client, incident_id)
            done = await rig.done(incident_id)
            after = await Guard(client, held).status()
    assert [s.state for s in done.steps] == ["applied"] and await rig.writes() == 1
    assert [e.kind for e in done.timeline].count("guard.locked") == 1
    assert "guard.released" in _kinds(done) and after.locks == []


async def _status(client: Client, settings: Settings) -> GuardStatus | None:
    """The guard's status, or None while no worker answers yet."""
    try:
        return await Guard(client, settings).status()
    except RPCError:
        return None


async def _step_after_a_kill(settings: Settings, client: Client, http_base: str,
                             redis_client: aioredis.Redis, tmp_path: Path,
                             crash_at: str) -> tuple[str, list[str]]:
    """One incident whose worker is SIGKILLed at ``crash_at``, finished by a new worker:
    its id and its mitigate phase's activities, once the step ran exactly once and no
    slot is left in flight."""
    quick = _rails(settings, lock_wait_seconds=0.0, cooldown_seconds=0.0)
    async with httpx.AsyncClient(base_url=http_base, timeout=30) as http:
        rig = Rig(http, client, quick, redis_client)
        await rig.healthy(True)
        crashing = WorkerProcess(quick, tmp_path, crash_at=crash_at)
        with crashing:
            incident_id, _ = await rig.fire()
            assert await asyncio.to_thread(crashing.wait_exit, 60) == -9
        with WorkerProcess(quick, tmp_path):
            done = await rig.done(incident_id)
            after = await Guard(client, quick).status()
    assert [s.state for s in done.steps] == ["applied"] and await rig.writes() == 1
    assert after.in_flight == 0 and after.slots == []
    return incident_id, [
        e.activity_task_scheduled_event_attributes.activity_type.name
        async for e in client.get_workflow_handle(f"{incident_id}/mitigate")
        .fetch_history_events() if e.HasField("activity_task_scheduled_event_attributes")]


async def test_a_worker_killed_right_after_the_guard_granted_the_slot(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """SIGKILL inside the step's go-ahead, the slot just granted: the retried activity
    gets the same slot (its update id), the step runs once and the slot frees."""
    await _step_after_a_kill(settings, client, http_base, redis_client, tmp_path,
                             "guard.step_started.answered")


async def test_a_worker_killed_right_after_it_freed_the_steps_slot(
    settings: Settings, client: Client, http_base: str, redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """SIGKILL inside the step's apply activity, after the step and after the worker freed
    its slot (``workers.slot_return``), before the result reached Temporal: the retry
    changes nothing again, the phase frees the slot itself (the guard counts the step
    as over once), and nothing stays in flight."""
    _, mitigate = await _step_after_a_kill(settings, client, http_base, redis_client, tmp_path,
                                           "guard.step_finished.answered")
    assert mitigate == ["guard_step_started_if_firing", "set_flag", "guard_step_finished"]
