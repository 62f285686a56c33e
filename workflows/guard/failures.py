"""Fixes that fail or do not hold: blocks per runbook and target, and the circuit breaker.

Failed verifications of a runbook on a target count while consecutive (a pass resets
them) and within the window; at ``failures_to_block`` the runbook is blocked on that
target. An alert group firing again after its fix passed verification counts as a
recurrence; ``recurrences_to_block`` of them within the window block the same way ("the
fix does not hold"). Failed verifications across all incidents trip the breaker, which
pauses automation. Each count records the update id, so a retried update counts once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from remediator.models.guard import (
    CIRCUIT_BREAKER,
    Block,
    GuardPolicy,
    Recurrence,
    RecurrenceOutcome,
    VerificationOutcome,
    VerificationRecord,
)
from workflows.guard.locks import key
from workflows.guard.models import GuardState, Mark, Pass, PauseState, Track


def minutes(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def _track(state: GuardState, runbook: str, target: str) -> Track:
    return state.tracks.setdefault(key(runbook, target), Track(runbook=runbook, target=target))


def _add(marks: list[Mark], mark: Mark, since: datetime) -> list[Mark]:
    """``marks`` within the window, with ``mark`` unless its update was counted already."""
    kept = [m for m in marks if m.at >= since]
    if not mark.key or all(m.key != mark.key for m in kept):
        kept.append(mark)
    return kept


def _block(state: GuardState, runbook: str, target: str, now: datetime, seconds: float,
           reason: str) -> Block:
    block = Block(runbook=runbook, target=target, until=now + timedelta(seconds=seconds),
                  reason=reason)
    state.blocks[key(runbook, target)] = block
    return block


def record_verification(state: GuardState, rec: VerificationRecord, now: datetime,
                        update_id: str) -> VerificationOutcome:
    policy = state.policy
    if rec.passed:
        for target in rec.targets:
            _track(state, rec.runbook, target).failures.clear()
        if rec.group_id:
            state.passes[rec.group_id] = Pass(group_id=rec.group_id, runbook=rec.runbook,
                                              targets=rec.targets, at=now,
                                              incident_id=rec.incident_id)
        return VerificationOutcome(detail="passed: consecutive failures reset")
    since = now - timedelta(seconds=policy.failure_window_seconds)
    mark = Mark(at=now, incident_id=rec.incident_id, key=update_id, group_id=rec.group_id)
    blocked = []
    for target in rec.targets:
        track = _track(state, rec.runbook, target)
        track.failures = _add(track.failures, mark, since)
        if len(track.failures) >= policy.failures_to_block:
            who = ", ".join(dict.fromkeys(m.incident_id for m in track.failures))
            blocked.append(_block(
                state, rec.runbook, target, now, policy.block_seconds,
                f"{len(track.failures)} consecutive failed verifications within "
                f"{minutes(policy.failure_window_seconds)} ({who})"))
            track.failures.clear()
    tripped = _breaker(state, mark, now, policy)
    parts = [f"blocked {b.runbook} on {b.target} until {b.until:%H:%M:%S}Z" for b in blocked]
    if tripped and state.paused is not None:
        parts.append(f"circuit breaker tripped, automation paused: {state.paused.reason}")
    return VerificationOutcome(blocked=blocked, circuit_tripped=tripped,
                               detail="; ".join(parts) or "failure recorded")


def _breaker(state: GuardState, mark: Mark, now: datetime, policy: GuardPolicy) -> bool:
    since = now - timedelta(seconds=policy.breaker_window_seconds)
    state.fleet_failures = _add(state.fleet_failures, mark, since)
    if len(state.fleet_failures) < policy.breaker_failures or state.paused is not None:
        return False
    who = ", ".join(dict.fromkeys(m.incident_id for m in state.fleet_failures))
    state.paused = PauseState(
        by=CIRCUIT_BREAKER, since=now,
        reason=f"{len(state.fleet_failures)} failed verifications across incidents within "
               f"{minutes(policy.breaker_window_seconds)} ({who})")
    state.fleet_failures = []
    return True


def record_recurrence(state: GuardState, rec: Recurrence, now: datetime,
                      update_id: str) -> RecurrenceOutcome:
    policy = state.policy
    passed = state.passes.get(rec.group_id)
    since = now - timedelta(seconds=policy.failure_window_seconds)
    if passed is None or passed.at < since:
        return RecurrenceOutcome(counted=False, detail=(
            f"no passing verification of group {rec.group_id} within "
            f"{minutes(policy.failure_window_seconds)}: not a recurrence of a fix"))
    mark = Mark(at=now, incident_id=rec.incident_id, key=update_id, group_id=rec.group_id)
    blocked = []
    for target in rec.targets or passed.targets:
        track = _track(state, rec.runbook, target)
        track.recurrences = _add(track.recurrences, mark, since)
        if len(track.recurrences) >= policy.recurrences_to_block:
            blocked.append(_block(
                state, rec.runbook, target, now, policy.block_seconds,
                f"the fix does not hold: {len(track.recurrences)} recurrences after a passing "
                f"verification within {minutes(policy.failure_window_seconds)}"))
            track.recurrences.clear()
    detail = "; ".join(f"blocked {b.runbook} on {b.target}: {b.reason}" for b in blocked)
    return RecurrenceOutcome(counted=True, blocked=blocked, detail=detail or "recurrence counted")


def prune(state: GuardState, now: datetime) -> None:
    """Forget what no longer decides anything: expired blocks, old marks and passes."""
    policy = state.policy
    since = now - timedelta(seconds=policy.failure_window_seconds)
    state.blocks = {k: b for k, b in state.blocks.items() if b.until > now}
    for k, track in list(state.tracks.items()):
        track.failures = [m for m in track.failures if m.at >= since]
        track.recurrences = [m for m in track.recurrences if m.at >= since]
        if not track.failures and not track.recurrences:
            del state.tracks[k]
    state.passes = {g: p for g, p in state.passes.items() if p.at >= since}
    breaker_since = now - timedelta(seconds=policy.breaker_window_seconds)
    state.fleet_failures = [m for m in state.fleet_failures if m.at >= breaker_since]
