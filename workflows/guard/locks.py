"""Admission: shadow or live, and all of an incident's target locks at once or none.

A target is busy when another incident holds its lock; the asker's own earlier run (a
reset, or a retried admission) takes its locks over. Cooldowns and blocks refuse the
admission outright; an incident is never granted part of its targets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from remediator.models.guard import (
    Admission,
    AdmitRequest,
    Busy,
    Holder,
    Refusal,
    TargetIntent,
)
from workflows.guard.models import GuardState, Lock
from workflows.guard.windows import is_open, matches


def key(first: str, second: str) -> str:
    return f"{first} {second}"


def shadow_reasons(state: GuardState, labels: dict[str, str], now: datetime) -> list[str]:
    """Why an incident with ``labels`` must change nothing right now (empty: it may)."""
    reasons = []
    if state.paused is not None:
        p = state.paused
        reasons.append(f"automation paused by {p.by} since {p.since:%Y-%m-%d %H:%M:%S}Z: "
                       f"{p.reason}")
    for w in state.windows:
        if is_open(w, now) and matches(w, labels):
            reasons.append(f"maintenance window {w.id} ({', '.join(w.matchers)}) by "
                           f"{w.created_by}: {w.reason}")
    return reasons


def _refusals(state: GuardState, req: AdmitRequest, intent: TargetIntent,
              now: datetime) -> list[Refusal]:
    found = []
    applied = state.applied.get(key(intent.action, intent.target))
    if applied is not None and applied.incident_id != req.incident_id:
        seconds = (intent.cooldown_seconds if intent.cooldown_seconds is not None
                   else applied.cooldown_seconds)
        until = applied.at + timedelta(seconds=seconds)
        if until > now:
            found.append(Refusal(
                kind="cooldown", action=intent.action, target=intent.target, until=until,
                detail=f"cooldown: {intent.action} on {intent.target} applied at "
                       f"{applied.at:%H:%M:%S}Z by {applied.incident_id}, until "
                       f"{until:%H:%M:%S}Z"))
    block = state.blocks.get(key(req.runbook, intent.target))
    if block is not None and block.until > now:
        found.append(Refusal(
            kind="blocked", action=intent.action, target=intent.target, until=block.until,
            detail=f"blocked: {req.runbook} on {intent.target} until {block.until:%H:%M:%S}Z "
                   f"({block.reason})"))
    return found


def judge(state: GuardState, req: AdmitRequest, now: datetime) -> Admission:
    """The answer to ``req`` as things stand; changes nothing."""
    reasons = shadow_reasons(state, req.labels, now)
    if reasons:
        return Admission(mode="shadow", granted=True, reasons=reasons)
    busy: list[Busy] = []
    refused: list[Refusal] = []
    for intent in req.targets:
        lock = state.locks.get(intent.target)
        if (lock is not None and lock.holder.incident_id != req.incident_id
                and all(b.target != intent.target for b in busy)):
            busy.append(Busy(target=intent.target, holder=lock.holder, since=lock.since))
        refused.extend(_refusals(state, req, intent, now))
    return Admission(mode="live", granted=not busy and not refused, busy=busy, refused=refused)


def grant(state: GuardState, req: AdmitRequest, now: datetime) -> None:
    """The asker holds every target of ``req``; it waits for none of them any more."""
    holder = Holder(incident_id=req.incident_id, run_id=req.run_id)
    for intent in req.targets:
        held = state.locks.get(intent.target)
        since = held.since if held is not None and held.holder == holder else now
        state.locks[intent.target] = Lock(target=intent.target, holder=holder, since=since,
                                          runbook=req.runbook)
        forget_waiter(state, intent.target, waiter_of(req))


def waiter_of(req: AdmitRequest) -> str:
    return req.waiter_workflow_id or req.incident_id


def add_waiter(state: GuardState, target: str, workflow_id: str) -> None:
    waiting = state.waiters.setdefault(target, [])
    if workflow_id not in waiting:
        waiting.append(workflow_id)


def forget_waiter(state: GuardState, target: str, workflow_id: str) -> None:
    waiting = state.waiters.get(target, [])
    if workflow_id in waiting:
        waiting.remove(workflow_id)
    if not waiting:
        state.waiters.pop(target, None)


def release(state: GuardState, incident_id: str) -> list[str]:
    """Every target ``incident_id`` held, now free."""
    freed = [t for t, lock in state.locks.items() if lock.holder.incident_id == incident_id]
    for target in freed:
        del state.locks[target]
    return freed


def release_stale(state: GuardState, stale: list[Holder]) -> list[str]:
    """Targets held by holders whose run no longer runs, now free."""
    freed = [t for t, lock in state.locks.items() if lock.holder in stale]
    for target in freed:
        del state.locks[target]
    return freed


def take_waiters(state: GuardState, targets: list[str]) -> dict[str, list[str]]:
    """Who waited for each of ``targets`` (they are told once, then forgotten)."""
    told: dict[str, list[str]] = {}
    for target in targets:
        for workflow_id in state.waiters.pop(target, []):
            told.setdefault(workflow_id, []).append(target)
    return told
