"""The guard's ``status`` answer, derived from its state at a moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.guard.caps import by_scope
from workflows.guard.models import Cooldown, GuardState, GuardStatus, WindowView
from workflows.guard.windows import is_open, over


def status_of(state: GuardState, now: datetime) -> GuardStatus:
    cooldowns = [
        Cooldown(action=a.action, target=a.target, applied_at=a.at, incident_id=a.incident_id,
                 until=a.at + timedelta(seconds=a.cooldown_seconds))
        for a in state.applied.values()]
    breaker_since = now - timedelta(seconds=state.policy.breaker_window_seconds)
    return GuardStatus(
        now=now, policy=state.policy, paused=state.paused,
        locks=sorted(state.locks.values(), key=lambda lock: lock.target),
        waiters=state.waiters,
        cooldowns=[c for c in cooldowns if c.until > now],
        blocks=[b for b in state.blocks.values() if b.until > now],
        windows=[WindowView(**w.model_dump(), active=is_open(w, now))
                 for w in state.windows if not over(w, now)],
        slots=state.slots, in_flight=len(state.slots), in_flight_by_scope=by_scope(state),
        fleet_failures_in_window=sum(m.at >= breaker_since for m in state.fleet_failures))
