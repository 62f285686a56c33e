"""The guard workflow on the dev server: locks, cooldowns, blocks, windows, the pause
switch, caps and the breaker, with short configured durations (tests/support/guard.py)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from activities.guard import GuardRefused
from remediator.models.guard import (
    ADMIT,
    MAINTENANCE_ADD,
    MAINTENANCE_END,
    PAUSE,
    RECURRED,
    RELEASE,
    RESUME,
    STEP_FINISHED,
    STEP_STARTED,
    VERIFICATION_RECORDED,
    Admission,
    AdmitRequest,
    GuardPolicy,
    Recurrence,
    RecurrenceOutcome,
    Released,
    ReleaseRequest,
    StepFinished,
    StepRequest,
    StepSlot,
    VerificationOutcome,
    VerificationRecord,
)
from tests.support.guard import GuardCase, admit_request, guard_worker, intent
from tests.support.polling import eventually
from workflows.guard.models import (
    MaintenanceEnd,
    MaintenanceRequest,
    MaintenanceWindow,
    PauseAnswer,
    PauseRequest,
    ResumeRequest,
)

DEPLOY = "kubernetes:shop/api"
FAST = GuardPolicy(cooldown_seconds=1.5, sweep_seconds=1.0, block_seconds=1.5,
                   failure_window_seconds=60, max_in_flight=2, max_in_flight_per_scope=1,
                   breaker_failures=50, breaker_window_seconds=60)


@pytest.fixture
async def guard(fast_client: Client) -> AsyncIterator[GuardCase]:
    async with guard_worker(fast_client, FAST) as case:
        yield case


async def admit(case: GuardCase, req: AdmitRequest) -> Admission:
    return await case.link.update(ADMIT, req, Admission)


def incident_id() -> str:
    return f"INC-2099-{uuid.uuid4().int % 10**8:08d}"


async def test_second_incident_on_a_held_target_is_told_who_holds_it(guard: GuardCase) -> None:
    first = await guard.incident(intent(DEPLOY))
    held = await eventually(lambda: guard.admission_of(first), what="first admitted")
    assert held.granted and held.mode == "live"
    # The holder asking again (a retried admission) keeps its lock.
    again = await admit(guard, admit_request(first.id, intent(DEPLOY),
                                             run_id=first.result_run_id or ""))
    assert again.granted

    other = await admit(guard, admit_request(incident_id(), intent(DEPLOY),
                                             intent("flag:checkout@prod", "feature_flag.set")))
    assert not other.granted
    assert [(b.target, b.holder.incident_id) for b in other.busy] == [(DEPLOY, first.id)]
    assert f"target busy: {DEPLOY} held by {first.id}" in other.detail
    # All or none: the free flag was not taken either.
    assert [lock.target for lock in (await guard.status()).locks] == [DEPLOY]


async def held_and_waited_for(guard: GuardCase) -> tuple[WorkflowHandle[Any, Admission],
                                                          WorkflowHandle[Any, Admission]]:
    """A first incident holds DEPLOY; a second waits for it (up to 120 s)."""
    first = await guard.incident(intent(DEPLOY))
    await eventually(lambda: guard.admission_of(first), what="first admitted")
    waiting = await guard.incident(intent(DEPLOY), wait_seconds=120)

    async def waits() -> bool:
        return waiting.id in (await guard.status()).waiters.get(DEPLOY, [])

    await eventually(waits, what="second incident waiting")
    return first, waiting


async def test_release_signals_the_waiter_which_then_takes_the_lock(guard: GuardCase) -> None:
    first, waiting = await held_and_waited_for(guard)
    started = time.monotonic()
    await first.signal("finish")
    admitted = await eventually(lambda: guard.admission_of(waiting), what="waiter admitted")
    # Told at once, not after its 120 s wait.
    assert admitted.granted and time.monotonic() - started < 30
    locks = (await guard.status()).locks
    assert [(lock.target, lock.holder.incident_id) for lock in locks] == [(DEPLOY, waiting.id)]


async def test_the_last_verdict_frees_the_locks_in_the_same_update(guard: GuardCase) -> None:
    # release-2026-12-e: an incident's last verdict carries its release (one call, not two)
    first, waiting = await held_and_waited_for(guard)
    counted_only = await guard.link.update(VERIFICATION_RECORDED, VerificationRecord(
        incident_id=first.id, runbook="rb", targets=[DEPLOY], passed=False), VerificationOutcome)
    assert not counted_only.blocked
    # A fallback may follow: the lock stays.
    assert [lock.holder.incident_id for lock in (await guard.status()).locks] == [first.id]
    await guard.link.update(VERIFICATION_RECORDED, VerificationRecord(
        incident_id=first.id, runbook="rb", targets=[DEPLOY], passed=True, release=True),
        VerificationOutcome)
    admitted = await eventually(lambda: guard.admission_of(waiting), what="waiter admitted")
    assert admitted.granted


async def test_lock_of_a_terminated_incident_is_freed_when_asked_for(guard: GuardCase) -> None:
    first = await guard.incident(intent(DEPLOY))
    await eventually(lambda: guard.admission_of(first), what="first admitted")
    await first.terminate("gone without releasing")
    taken = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert taken.granted


async def test_sweep_frees_locks_of_dead_holders(guard: GuardCase) -> None:
    first = await guard.incident(intent(DEPLOY))
    await eventually(lambda: guard.admission_of(first), what="first admitted")
    await first.terminate("gone without releasing")

    async def freed() -> bool:
        return not (await guard.status()).locks

    await eventually(freed, timeout=20, what="sweep frees the lock")


async def test_a_new_run_of_the_same_incident_takes_its_locks_over(guard: GuardCase) -> None:
    holder = incident_id()
    assert (await admit(guard, admit_request(holder, intent(DEPLOY), run_id="run-1"))).granted
    again = await admit(guard, admit_request(holder, intent(DEPLOY), run_id="run-2"))
    assert again.granted
    assert (await guard.status()).locks[0].holder.run_id == "run-2"


async def step(guard: GuardCase, holder: str, target: str = DEPLOY, scope: str = "",
               applied: bool | None = None, cooldown: float | None = None) -> StepSlot:
    if applied is None:
        return await guard.link.update(STEP_STARTED, StepRequest(
            incident_id=holder, action="kubernetes.rollout_undo", target=target,
            scope=scope), StepSlot)
    return await guard.link.update(STEP_FINISHED, StepFinished(
        incident_id=holder, action="kubernetes.rollout_undo", target=target, scope=scope,
        applied=applied, cooldown_seconds=cooldown), StepSlot)


async def test_cooldown_refuses_the_same_action_then_expires(guard: GuardCase) -> None:
    first = incident_id()
    assert (await step(guard, first)).granted
    await step(guard, first, applied=True)
    refused = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert not refused.granted and [r.kind for r in refused.refused] == ["cooldown"]
    assert refused.refused[0].detail.startswith(
        f"cooldown: kubernetes.rollout_undo on {DEPLOY} applied at ")
    assert f"by {first}, until " in refused.refused[0].detail
    # Another action on the target is not cooling down.
    other = await guard.link.update(ADMIT, admit_request(
        incident_id(), intent(DEPLOY, "kubernetes.scale")), Admission)
    assert other.granted

    async def expired() -> bool:
        admitted = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
        return admitted.granted and not (await guard.status()).cooldowns

    await eventually(expired, timeout=10, what="cooldown over")


async def test_cooldown_override_per_request(guard: GuardCase) -> None:
    first = incident_id()
    await step(guard, first, target="kubernetes:shop/web", applied=True, cooldown=3600)
    asked = await admit(guard, admit_request(incident_id(), intent("kubernetes:shop/web",
                                                                   cooldown=0)))
    assert asked.granted
    refused = await admit(guard, admit_request(incident_id(), intent("kubernetes:shop/web")))
    assert refused.refused and refused.refused[0].kind == "cooldown"


async def verification(guard: GuardCase, passed: bool, target: str = DEPLOY,
                       group: str = "g1") -> VerificationOutcome:
    return await guard.link.update(VERIFICATION_RECORDED, VerificationRecord(
        incident_id=incident_id(), runbook="rb", targets=[target], passed=passed,
        group_id=group), VerificationOutcome)


async def test_consecutive_failures_block_the_runbook_then_expire(guard: GuardCase) -> None:
    await verification(guard, False)
    await verification(guard, False)
    await verification(guard, True)  # a pass resets the count
    await verification(guard, False)
    assert not (await verification(guard, False)).blocked
    outcome = await verification(guard, False)
    assert [(b.runbook, b.target) for b in outcome.blocked] == [("rb", DEPLOY)]
    assert "3 consecutive failed verifications" in outcome.blocked[0].reason
    refused = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert [r.kind for r in refused.refused] == ["blocked"]
    assert refused.refused[0].detail.startswith(f"blocked: rb on {DEPLOY} until ")
    other = await admit(guard, admit_request(incident_id(), intent(DEPLOY), runbook="other"))
    assert other.granted  # another runbook on the target is not blocked

    async def expired() -> bool:
        return not (await guard.status()).blocks

    await eventually(expired, timeout=10, what="block over")
    assert (await admit(guard, admit_request(incident_id(), intent(DEPLOY)))).granted


async def test_recurrences_after_a_pass_block_the_fix_that_does_not_hold(
    guard: GuardCase,
) -> None:
    def recurrence(group: str) -> Recurrence:
        return Recurrence(group_id=group, runbook="rb", targets=[DEPLOY], incident_id="INC-x")

    lone = await guard.link.update(RECURRED, recurrence("never-passed"), RecurrenceOutcome)
    assert not lone.counted
    await verification(guard, True, group="g7")
    first = await guard.link.update(RECURRED, recurrence("g7"), RecurrenceOutcome)
    assert first.counted and not first.blocked
    await guard.link.update(RECURRED, recurrence("g7"), RecurrenceOutcome)
    third = await guard.link.update(RECURRED, recurrence("g7"), RecurrenceOutcome)
    assert third.blocked and "the fix does not hold" in third.blocked[0].reason
    refused = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert "the fix does not hold" in refused.refused[0].detail


async def test_a_retried_update_counts_once(guard: GuardCase) -> None:
    rec = VerificationRecord(incident_id="INC-r", runbook="rb", targets=[DEPLOY], passed=False)
    for _ in range(3):
        await guard.link.update(VERIFICATION_RECORDED, rec, VerificationOutcome,
                                update_id="same-activity")
    assert not (await guard.status()).blocks
    assert (await guard.status()).fleet_failures_in_window == 1


def window(*matchers: str, minutes: float = 60, **fields: object) -> MaintenanceRequest:
    return MaintenanceRequest.model_validate({
        "matchers": list(matchers), "duration_seconds": minutes * 60,
        "reason": "db upgrade", "created_by": "alice", **fields})


async def test_maintenance_window_runs_matching_incidents_in_shadow(guard: GuardCase) -> None:
    opened = await guard.link.update(MAINTENANCE_ADD,
                                     window("service=checkout", "env=~prod.*"), MaintenanceWindow)
    labels = {"service": "checkout", "env": "production"}
    shadow = await admit(guard, admit_request(incident_id(), intent(DEPLOY), labels=labels))
    assert shadow.mode == "shadow" and shadow.granted
    assert f"maintenance window {opened.id}" in shadow.reasons[0] and "db upgrade" in shadow.reasons[0]
    assert not (await guard.status()).locks  # shadow takes no lock
    elsewhere = await admit(guard, admit_request(incident_id(), intent("kubernetes:a/b"),
                                                 labels={"service": "cart", "env": "prod"}))
    assert elsewhere.mode == "live"
    await guard.link.update(MAINTENANCE_END, MaintenanceEnd(id=opened.id, by="bob"),
                            MaintenanceWindow)
    live = await admit(guard, admit_request(incident_id(), intent(DEPLOY), labels=labels))
    assert live.mode == "live" and live.granted


async def test_recurring_window_opens_each_day(guard: GuardCase) -> None:
    now = datetime.now(UTC)
    # Yesterday's occurrence started 10 minutes before now's time of day: open today too.
    start = now - timedelta(days=1, minutes=10)
    await guard.link.update(MAINTENANCE_ADD, window(
        "team=db", starts_at=start.isoformat(), duration_seconds=None,
        ends_at=(start + timedelta(hours=1)).isoformat(), every="daily"), MaintenanceWindow)
    admitted = await admit(guard, admit_request(incident_id(), labels={"team": "db"}))
    assert admitted.mode == "shadow"
    status = await guard.status()
    assert status.windows[0].active and status.windows[0].every == "daily"


@pytest.mark.parametrize(("request_fields", "error"), [
    ({"matchers": ["service~checkout"]}, "unknown matcher 'service~checkout'"),
    ({"matchers": ["env=~prod("]}, "bad regex in matcher"),
    ({"matchers": ["1bad=x"]}, "bad label name"),
    ({"matchers": ["service=checkout"], "duration_seconds": None,
      "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
     "ends (2030-01-01T00:00:00+00:00) before it starts"),
    ({"matchers": ["team=db"], "reason": "again"}, "overlaps window mw-1 with identical matchers"),
])
async def test_bad_window_is_refused_and_nothing_changes(
    guard: GuardCase, request_fields: dict[str, object], error: str,
) -> None:
    await guard.link.update(MAINTENANCE_ADD, window("team=db"), MaintenanceWindow)
    fields = {"reason": "db upgrade", "created_by": "alice", "duration_seconds": 600.0,
              **request_fields}
    with pytest.raises(GuardRefused, match=re.escape(error)):
        await guard.link.update(MAINTENANCE_ADD, MaintenanceRequest.model_validate(fields),
                                MaintenanceWindow)
    assert [w.id for w in (await guard.status()).windows] == ["mw-1"]


async def test_pause_runs_everything_in_shadow_until_resumed(guard: GuardCase) -> None:
    paused = await guard.link.update(PAUSE, PauseRequest(by="alice", reason="bad deploy"),
                                     PauseAnswer)
    assert paused.changed and paused.paused is not None and paused.paused.by == "alice"
    shadow = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert shadow.mode == "shadow"
    assert shadow.reasons[0].startswith("automation paused by alice since ")
    assert shadow.reasons[0].endswith(": bad deploy")
    assert not (await step(guard, incident_id())).granted  # no new mutation either
    resumed = await guard.link.update(RESUME, ResumeRequest(by="bob"), PauseAnswer)
    assert resumed.changed and "paused by alice: bad deploy" in resumed.detail
    assert (await admit(guard, admit_request(incident_id(), intent(DEPLOY)))).mode == "live"


async def test_pause_without_who_or_why_is_refused(guard: GuardCase) -> None:
    for bad in (PauseRequest.model_construct(by=" ", reason="x"),
                PauseRequest.model_construct(by="alice", reason="  ")):
        with pytest.raises(GuardRefused, match=r"say (who|why)"):
            await guard.link.update(PAUSE, bad, PauseAnswer)
    assert (await guard.status()).paused is None


async def test_fleet_caps_overall_and_per_scope(guard: GuardCase) -> None:
    a, b, c = incident_id(), incident_id(), incident_id()
    assert (await step(guard, a, "kubernetes:shop/a", scope="shop")).granted
    same_scope = await step(guard, b, "kubernetes:shop/b", scope="shop")
    assert not same_scope.granted
    assert same_scope.detail == "cap reached: 1 mutating steps in flight in shop (at most 1)"
    assert (await step(guard, b, "kubernetes:web/b", scope="web")).granted
    overall = await step(guard, c, "kubernetes:db/c", scope="db")
    assert overall.detail == "cap reached: 2 mutating steps in flight (at most 2)"
    assert (await step(guard, a, "kubernetes:shop/a", scope="shop")).granted  # idempotent
    await step(guard, a, "kubernetes:shop/a", scope="shop", applied=False)
    assert (await step(guard, c, "kubernetes:db/c", scope="db")).granted
    status = await guard.status()
    assert status.in_flight == 2 and status.in_flight_by_scope == {"web": 1, "db": 1}


async def test_circuit_breaker_pauses_automation(fast_client: Client) -> None:
    async with guard_worker(fast_client, FAST.model_copy(update={"breaker_failures": 4})) as guard:
        await _trip_breaker(guard)


async def _trip_breaker(guard: GuardCase) -> None:
    for n in range(3):
        assert not (await verification(guard, False, target=f"kubernetes:ns/d{n}")).circuit_tripped
    tripped = await verification(guard, False, target="kubernetes:ns/d9")
    assert tripped.circuit_tripped and "circuit breaker tripped" in tripped.detail
    paused = (await guard.status()).paused
    assert paused is not None and paused.by == "circuit-breaker"
    assert "4 failed verifications across incidents within 1 min" in paused.reason
    shadow = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert shadow.mode == "shadow" and "circuit-breaker" in shadow.reasons[0]


async def test_continue_as_new_keeps_every_rail(fast_client: Client) -> None:
    policy = FAST.model_copy(update={"events_per_run": 100, "block_seconds": 3600,
                                     "cooldown_seconds": 3600})
    async with guard_worker(fast_client, policy) as guard:
        holder = await guard.incident(intent(DEPLOY))
        await eventually(lambda: guard.admission_of(holder), what="admitted")
        await guard.link.update(MAINTENANCE_ADD, window("team=db"), MaintenanceWindow)
        for _ in range(3):
            await verification(guard, False, target="kubernetes:x/y")
        await step(guard, "INC-c", "kubernetes:c/c", applied=True)
        handle = fast_client.get_workflow_handle(guard.link.workflow_id)
        first_run = (await handle.describe()).run_id
        for n in range(40):  # each takes a few events: past 100, a fresh run
            await admit(guard, admit_request(f"INC-n{n}", intent("kubernetes:free/x", cooldown=0)))
            await guard.link.update(RELEASE, ReleaseRequest(incident_id=f"INC-n{n}"), Released)

        async def rolled() -> bool:
            described = await handle.describe()
            return described.run_id != first_run and \
                described.status == WorkflowExecutionStatus.RUNNING

        await eventually(rolled, what="continued as new")
        status = await guard.status()
        assert [(lock.target, lock.holder.incident_id) for lock in status.locks] == [
            (DEPLOY, holder.id)]
        assert [w.matchers for w in status.windows] == [["team=db"]]
        assert [b.target for b in status.blocks] == ["kubernetes:x/y"]
        assert [c.target for c in status.cooldowns] == ["kubernetes:c/c"]
        busy = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
        assert busy.busy[0].holder.incident_id == holder.id


async def test_a_reset_incident_keeps_its_lock_and_is_not_taken_for_dead(
    guard: GuardCase, fast_client: Client,
) -> None:
    first = await guard.incident(intent(DEPLOY))
    await eventually(lambda: guard.admission_of(first), what="first admitted")
    history = await first.fetch_history()
    completed = next(e.event_id for e in history.events
                     if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    reset = await fast_client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=fast_client.namespace, reason="test: reset the incident",
            workflow_execution=WorkflowExecution(workflow_id=first.id,
                                                 run_id=first.result_run_id or ""),
            workflow_task_finish_event_id=completed, request_id=str(uuid.uuid4())))
    again = fast_client.get_workflow_handle(first.id, run_id=reset.run_id)
    readmitted = await eventually(lambda: guard.admission_of(again), what="reset run admitted")
    assert readmitted.granted  # the same incident takes its own lock over
    other = await admit(guard, admit_request(incident_id(), intent(DEPLOY)))
    assert [b.holder.incident_id for b in other.busy] == [first.id]  # not freed as stale
