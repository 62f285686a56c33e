"""Fleet caps: how many mutating steps may be in flight at once, overall and per scope
(a namespace or an account). A step holds a slot from ``step_started`` to
``step_finished``; while automation is paused no new slot is handed out."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from remediator.models.guard import Holder, StepFinished, StepRequest, StepSlot
from workflows.guard.locks import key
from workflows.guard.models import Applied, GuardState, Slot


def _same(slot: Slot, req: StepRequest) -> bool:
    return (slot.holder.incident_id, slot.action, slot.target) == (
        req.incident_id, req.action, req.target)


def by_scope(state: GuardState) -> dict[str, int]:
    return dict(Counter(s.scope for s in state.slots if s.scope))


def take_slot(state: GuardState, req: StepRequest, now: datetime) -> StepSlot:
    """A slot for the step, or why not; asking again for a step in flight is granted."""
    policy = state.policy
    if any(_same(s, req) for s in state.slots):
        return StepSlot(granted=True, detail="already in flight", in_flight=len(state.slots))
    if state.paused is not None:
        return StepSlot(granted=False, in_flight=len(state.slots),
                        detail=f"automation paused by {state.paused.by}: {state.paused.reason}")
    if len(state.slots) >= policy.max_in_flight:
        return StepSlot(granted=False, in_flight=len(state.slots),
                        detail=f"cap reached: {len(state.slots)} mutating steps in flight "
                               f"(at most {policy.max_in_flight})")
    in_scope = by_scope(state).get(req.scope, 0) if req.scope else 0
    if req.scope and in_scope >= policy.max_in_flight_per_scope:
        return StepSlot(granted=False, in_flight=len(state.slots),
                        detail=f"cap reached: {in_scope} mutating steps in flight in "
                               f"{req.scope} (at most {policy.max_in_flight_per_scope})")
    state.slots.append(Slot(holder=Holder(incident_id=req.incident_id, run_id=req.run_id),
                            action=req.action, target=req.target, scope=req.scope, since=now))
    return StepSlot(granted=True, detail="slot granted", in_flight=len(state.slots))


def finish(state: GuardState, req: StepFinished, now: datetime) -> bool:
    """Frees the step's slot (True if it held one); an applied step starts its cooldown."""
    before = len(state.slots)
    state.slots = [s for s in state.slots if not _same(s, req)]
    if req.applied:
        seconds = (req.cooldown_seconds if req.cooldown_seconds is not None
                   else state.policy.cooldown_seconds)
        state.applied[key(req.action, req.target)] = Applied(
            action=req.action, target=req.target, at=now, incident_id=req.incident_id,
            cooldown_seconds=seconds)
    return len(state.slots) < before


def free_slots_of(state: GuardState, stale: list[Holder] | None = None,
                  incident_id: str | None = None) -> int:
    """Frees the slots of dead holders, or of one incident; how many were freed."""
    before = len(state.slots)
    state.slots = [s for s in state.slots
                   if not ((stale is not None and s.holder in stale)
                           or s.holder.incident_id == incident_id)]
    return before - len(state.slots)


def wake_order(state: GuardState) -> list[str]:
    """The fleet-slot waiters the free slots can take, first come first served, taken off
    the waiting list (a waiter refused again queues anew). Waking every waiter at each
    freed slot made a burst quadratic: 190 waiters asked again for each of 10 slots."""
    waiting = state.waiters.get("", [])
    free = 0 if state.paused is not None else state.policy.max_in_flight - len(state.slots)
    in_scope = Counter(by_scope(state))
    chosen: list[str] = []
    for workflow_id in waiting:
        if len(chosen) >= free:
            break
        scope = state.slot_scopes.get(workflow_id, "")
        if scope and in_scope[scope] >= state.policy.max_in_flight_per_scope:
            continue
        chosen.append(workflow_id)
        if scope:
            in_scope[scope] += 1
    left = [w for w in waiting if w not in chosen]
    if left:
        state.waiters[""] = left
    else:
        state.waiters.pop("", None)
    for workflow_id in chosen:
        state.slot_scopes.pop(workflow_id, None)
    return chosen


def prune_applied(state: GuardState, now: datetime) -> None:
    """Applications older than ``remember_seconds`` and past their cooldown are dropped."""
    remember = timedelta(seconds=state.policy.remember_seconds)
    state.applied = {
        k: a for k, a in state.applied.items()
        if a.at + max(remember, timedelta(seconds=a.cooldown_seconds)) > now}
