"""Who a freed fleet slot wakes: only the waiters the free slots can take, in the order
they asked; every other waiter keeps its place. (Waking them all made a burst of 200
incidents under a cap of 10 quadratic: each freed slot had 190 incidents ask again.)"""

from __future__ import annotations

from datetime import UTC, datetime

from remediator.models.guard import GuardPolicy, Holder
from workflows.guard.caps import wake_order
from workflows.guard.models import GuardState, PauseState, Slot

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def _state(held_scopes: list[str], waiting: dict[str, str]) -> GuardState:
    state = GuardState(policy=GuardPolicy(max_in_flight=3, max_in_flight_per_scope=1))
    state.slots = [Slot(holder=Holder(incident_id=f"INC-held-{n}"), action="kubernetes.scale",
                        target=f"kubernetes:{scope}/x", scope=scope, since=NOW)
                   for n, scope in enumerate(held_scopes)]
    state.waiters[""] = list(waiting)
    state.slot_scopes = {w: s for w, s in waiting.items() if s}
    return state


def test_a_freed_slot_wakes_one_waiter_in_order() -> None:
    state = _state(["shop", "web"], {f"INC-{n}/mitigate": "" for n in range(5)})
    assert wake_order(state) == ["INC-0/mitigate"]
    assert state.waiters[""] == [f"INC-{n}/mitigate" for n in range(1, 5)]


def test_waiters_whose_scope_is_full_keep_their_place_and_others_go_first() -> None:
    state = _state(["shop"], {"INC-a/mitigate": "shop", "INC-b/mitigate": "web",
                              "INC-c/mitigate": "web", "INC-d/mitigate": "db"})
    # Two slots free overall; shop is at its cap of one; web takes only one more.
    assert wake_order(state) == ["INC-b/mitigate", "INC-d/mitigate"]
    assert state.waiters[""] == ["INC-a/mitigate", "INC-c/mitigate"]
    assert state.slot_scopes == {"INC-a/mitigate": "shop", "INC-c/mitigate": "web"}


def test_nobody_is_woken_while_paused_or_full() -> None:
    paused = _state([], {"INC-a/mitigate": ""})
    paused.paused = PauseState(by="oncall", reason="change freeze", since=NOW)
    assert wake_order(paused) == [] and paused.waiters[""] == ["INC-a/mitigate"]
    full = _state(["a", "b", "c"], {"INC-a/mitigate": ""})
    assert wake_order(full) == [] and full.waiters[""] == ["INC-a/mitigate"]


def test_the_last_waiter_woken_leaves_no_empty_list() -> None:
    state = _state([], {"INC-a/mitigate": "shop"})
    assert wake_order(state) == ["INC-a/mitigate"]
    assert "" not in state.waiters and state.slot_scopes == {}
