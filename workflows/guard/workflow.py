"""The guard: one long-lived workflow per namespace holding the safety rails every
incident shares (README "Safety rails").

Each operation is an Update, so its answer is recorded with the change it made: a worker
or server killed mid-operation either made it (it is in the history) or did not (the
caller retries with the same update id). Validators turn bad input away before it
reaches the history. A fresh run (state carried, expired entries pruned) begins past
``events_per_run`` events or when Temporal suggests it, once no handler is running.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.guard import REFUSED, GuardActivities
    from remediator.models.guard import (
        ADMIT,
        CIRCUIT_BREAKER,
        CONFIGURE,
        GUARD_WORKFLOW,
        MAINTENANCE_ADD,
        MAINTENANCE_END,
        PAUSE,
        RECURRED,
        RELEASE,
        RESUME,
        STATUS,
        STEP_FINISHED,
        STEP_STARTED,
        VERIFICATION_RECORDED,
        Admission,
        AdmitRequest,
        GuardPolicy,
        GuardReleased,
        Holder,
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
    from workflows.guard import caps, failures, locks
    from workflows.guard.models import (
        GuardState,
        MaintenanceEnd,
        MaintenanceRequest,
        MaintenanceWindow,
        PauseAnswer,
        PauseRequest,
        PauseState,
        ResumeRequest,
    )
    from workflows.guard.windows import over, window_from
    from workflows.support.options import LocalActivityOptions
    from workflows.support.signals import GUARD_RELEASED
    from workflows.support.versions import patched

# A freed fleet slot wakes only the waiters it can take (``caps.wake_order``).
FAIR_WAKE = "guard-fair-wake"
TARGET = re.compile(r"^[a-z0-9_.-]+:\S+$")
# The liveness check is a quick read; when Temporal cannot answer it, holders count as
# alive (a lock is never freed on a guess).
LIVENESS = LocalActivityOptions(start_to_close_timeout=timedelta(seconds=10),
                                retry_policy=RetryPolicy(maximum_attempts=3))


def refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type=REFUSED, non_retryable=True)


def _check_target(target: str) -> None:
    if not TARGET.match(target):
        raise refuse(f"bad target {target!r}: use kind:name, e.g. kubernetes:ns/deploy")


@workflow.defn(name=GUARD_WORKFLOW)
class GuardWorkflow:
    """Target locks, cooldowns, blocks, maintenance windows, the pause switch and the
    fleet caps of every incident in the namespace."""

    @workflow.init
    def __init__(self, policy: GuardPolicy, carried: GuardState | None = None) -> None:
        self._state = carried or GuardState(policy=policy)
        self._notices: set[asyncio.Task[None]] = set()

    @workflow.run
    async def run(self, policy: GuardPolicy, carried: GuardState | None = None) -> None:
        while not self._should_roll():
            sweep = self._state.policy.sweep_seconds if self._holders() else None
            try:
                await workflow.wait_condition(partial(self._wake, sweep is not None),
                                              timeout=sweep)
            except TimeoutError:
                await self._sweep()
        await workflow.wait_condition(lambda: workflow.all_handlers_finished()
                                      and not self._notices)
        self._prune()
        workflow.continue_as_new(args=[self._state.policy, self._state],
                                 task_queue=self._state.policy.task_queue)

    def _wake(self, armed: bool) -> bool:
        # Without holders no sweep timer runs; the first lock or slot taken arms one.
        return self._should_roll() or (not armed and bool(self._holders()))

    def _should_roll(self) -> bool:
        info = workflow.info()
        moved = self._state.policy.task_queue not in (None, info.task_queue)
        return (moved or info.is_continue_as_new_suggested()
                or info.get_current_history_length() >= self._state.policy.events_per_run)

    def _holders(self) -> list[Holder]:
        found = [lock.holder for lock in self._state.locks.values()]
        found += [slot.holder for slot in self._state.slots]
        return list({(h.incident_id, h.run_id): h for h in found}.values())

    # --- incident side ---------------------------------------------------------------

    @workflow.update(name=ADMIT)
    async def admit(self, req: AdmitRequest) -> Admission:
        """Shadow (paused, maintenance) or live; every target's lock, or none and why."""
        answer = locks.judge(self._state, req, workflow.now())
        # A busy target may be held by an incident that died: check before answering.
        if answer.busy and await self._free_stale([b.holder for b in answer.busy]):
            answer = locks.judge(self._state, req, workflow.now())
        if answer.mode == "live" and answer.granted:
            locks.grant(self._state, req, workflow.now())
        for busy in answer.busy:
            locks.add_waiter(self._state, busy.target, locks.waiter_of(req))
        return answer

    @admit.validator
    def _validate_admit(self, req: AdmitRequest) -> None:
        for intent in req.targets:
            _check_target(intent.target)

    @workflow.update(name=STEP_STARTED)
    def step_started(self, req: StepRequest) -> StepSlot:
        """A fleet slot for a mutating step, or why not (the asker is told when one frees)."""
        slot = caps.take_slot(self._state, req, workflow.now())
        if not slot.granted:
            waiter = req.waiter_workflow_id or req.incident_id
            locks.add_waiter(self._state, "", waiter)
            if req.scope:
                self._state.slot_scopes[waiter] = req.scope
        return slot

    @step_started.validator
    def _validate_step_started(self, req: StepRequest) -> None:
        _check_target(req.target)

    @workflow.update(name=STEP_FINISHED)
    def step_finished(self, req: StepFinished) -> StepSlot:
        """Frees the step's slot; an applied step starts its cooldown."""
        if caps.finish(self._state, req, workflow.now()):
            self._slot_freed()
        return StepSlot(granted=False, detail="slot freed", in_flight=len(self._state.slots))

    @step_finished.validator
    def _validate_step_finished(self, req: StepFinished) -> None:
        _check_target(req.target)

    @workflow.update(name=VERIFICATION_RECORDED)
    def verification_recorded(self, rec: VerificationRecord) -> VerificationOutcome:
        """Counts a verification: blocks after consecutive failures, trips the breaker."""
        outcome = failures.record_verification(self._state, rec, workflow.now(),
                                                self._update_id())
        if outcome.blocked or outcome.circuit_tripped:
            workflow.logger.warning("guard.blocked", extra={"detail": outcome.detail})
        if rec.release:  # set only by incidents of release-2026-12-e and later
            self._release(rec.incident_id)
        return outcome

    @workflow.update(name=RECURRED)
    def recurred(self, rec: Recurrence) -> RecurrenceOutcome:
        """Counts a group firing again after its fix passed verification."""
        return failures.record_recurrence(self._state, rec, workflow.now(), self._update_id())

    @workflow.update(name=RELEASE)
    def release(self, req: ReleaseRequest) -> Released:
        """Frees every lock and slot of the incident and tells who waited for them."""
        return self._release(req.incident_id)

    def _release(self, incident_id: str) -> Released:
        targets = locks.release(self._state, incident_id)
        slots = caps.free_slots_of(self._state, incident_id=incident_id)
        for target in list(self._state.waiters):
            locks.forget_waiter(self._state, target, incident_id)
        self._tell(locks.take_waiters(self._state, targets))
        if slots:
            self._slot_freed()
        return Released(targets=targets, slots=slots)

    @workflow.update(name=CONFIGURE)
    def configure(self, policy: GuardPolicy) -> GuardPolicy:
        """The limits and durations from now on (a worker sends its own at start)."""
        self._state.policy = policy
        return policy

    # --- operator side ---------------------------------------------------------------

    @workflow.update(name=MAINTENANCE_ADD)
    def maintenance_add(self, req: MaintenanceRequest) -> MaintenanceWindow:
        """A new maintenance window (matching incidents run in shadow mode while open)."""
        window = self._window(req)
        self._state.windows.append(window)
        self._state.next_window += 1
        return window

    @maintenance_add.validator
    def _validate_maintenance_add(self, req: MaintenanceRequest) -> None:
        self._window(req)

    def _window(self, req: MaintenanceRequest) -> MaintenanceWindow:
        now = workflow.now()
        live = [w for w in self._state.windows if not over(w, now)]
        try:
            return window_from(req, now, live, f"mw-{self._state.next_window}")
        except ValueError as exc:
            raise refuse(str(exc)) from None

    @workflow.update(name=MAINTENANCE_END)
    def maintenance_end(self, req: MaintenanceEnd) -> MaintenanceWindow:
        """Ends a window now (an upcoming one never opens)."""
        window = self._open_window(req.id)
        window.ended_at, window.ended_by = workflow.now(), req.by
        return window

    @maintenance_end.validator
    def _validate_maintenance_end(self, req: MaintenanceEnd) -> None:
        self._open_window(req.id)

    def _open_window(self, window_id: str) -> MaintenanceWindow:
        now = workflow.now()
        for window in self._state.windows:
            if window.id == window_id and not over(window, now):
                return window
        raise refuse(f"no open or upcoming maintenance window {window_id}")

    @workflow.update(name=PAUSE)
    def pause(self, req: PauseRequest) -> PauseAnswer:
        """Every incident runs in shadow mode until resumed."""
        if self._state.paused is not None:
            return PauseAnswer(paused=self._state.paused, changed=False,
                               detail=f"already paused by {self._state.paused.by}")
        self._state.paused = PauseState(by=req.by.strip(), reason=req.reason.strip(),
                                        since=workflow.now())
        return PauseAnswer(paused=self._state.paused, changed=True,
                           detail=f"automation paused by {req.by.strip()}")

    @pause.validator
    def _validate_pause(self, req: PauseRequest) -> None:
        if not req.by.strip():
            raise refuse("say who pauses automation (--as USER)")
        if not req.reason.strip():
            raise refuse("say why automation is paused (--reason)")
        if req.by.strip() == CIRCUIT_BREAKER:
            raise refuse(f"{CIRCUIT_BREAKER!r} is the breaker's own name")

    @workflow.update(name=RESUME)
    def resume(self, req: ResumeRequest) -> PauseAnswer:
        """Automation runs live again."""
        was = self._state.paused
        if was is None:
            return PauseAnswer(paused=None, changed=False, detail="automation was not paused")
        self._state.paused = None
        workflow.logger.info("guard.resumed", extra={"by": req.by, "paused_by": was.by})
        return PauseAnswer(paused=None, changed=True,
                           detail=f"resumed by {req.by.strip()} (paused by {was.by}: {was.reason})")

    @resume.validator
    def _validate_resume(self, req: ResumeRequest) -> None:
        if not req.by.strip():
            raise refuse("say who resumes automation (--as USER)")

    @workflow.query(name=STATUS)
    def status(self) -> GuardState:
        """The state as is: a query cannot read the clock (``workflow.now()`` is the last
        task's time), so readers derive the view at their own now (``view.status_of``)."""
        return self._state

    # --- mechanics -------------------------------------------------------------------

    def _update_id(self) -> str:
        info = workflow.current_update_info()
        return info.id if info is not None else ""

    async def _free_stale(self, holders: list[Holder]) -> bool:
        """Frees the locks and slots of ``holders`` whose incident no longer runs."""
        holders = list({(h.incident_id, h.run_id): h for h in holders}.values())
        try:
            answer = await workflow.execute_local_activity_method(
                GuardActivities.guard_stale_holders, holders, **LIVENESS,
                summary=f"which of {len(holders)} lock holder(s) no longer run")
        except ActivityError:
            return False
        if not answer.stale:
            return False
        freed = locks.release_stale(self._state, answer.stale)
        workflow.logger.info("guard.stale_freed", extra={"targets": freed})
        self._tell(locks.take_waiters(self._state, freed))
        if caps.free_slots_of(self._state, stale=answer.stale):
            self._slot_freed()
        return True

    async def _sweep(self) -> None:
        holders = self._holders()
        if holders:
            await self._free_stale(holders)
        self._prune()

    def _prune(self) -> None:
        now = workflow.now()
        failures.prune(self._state, now)
        caps.prune_applied(self._state, now)
        self._state.windows = [w for w in self._state.windows if not over(w, now)]
        # A waiter for something no longer held was told, or gave up and handed over.
        self._state.waiters = {
            t: w for t, w in self._state.waiters.items()
            if (t in self._state.locks if t else bool(self._state.slots))}
        slot_waiters = self._state.waiters.get("", [])
        self._state.slot_scopes = {w: s for w, s in self._state.slot_scopes.items()
                                   if w in slot_waiters}

    def _slot_freed(self) -> None:
        """Tells the waiters the free slots can take (all of them, before this release)."""
        if patched(FAIR_WAKE, since="release-2026-12-d"):
            self._tell({w: [""] for w in caps.wake_order(self._state)}, slot=True)
        else:
            self._tell(locks.take_waiters(self._state, [""]), slot=True)

    def _tell(self, told: dict[str, list[str]], slot: bool = False) -> None:
        """Signal each waiter (in the background: a waiter that has ended is skipped)."""
        for workflow_id, targets in told.items():
            payload = GuardReleased(targets=[t for t in targets if t], slot=slot)
            task = asyncio.create_task(self._signal(workflow_id, payload))
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)

    async def _signal(self, workflow_id: str, payload: GuardReleased) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(GUARD_RELEASED,
                                                                            payload)
        except Exception as exc:  # the waiter ended meanwhile: nothing to tell
            workflow.logger.info("guard.waiter_gone", extra={"workflow_id": workflow_id,
                                                             "error": str(exc)})
            if payload.slot and patched(FAIR_WAKE, since="release-2026-12-d"):
                self._slot_freed()  # the slot it would have taken goes to the next one
