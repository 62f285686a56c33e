"""What a runbook must be beyond its model's shape: every action in the catalogue with
params its activity accepts, and step ids unique (they are idempotency keys).

The catalogue belongs to the workflows (it names activities), above this core: whoever
loads runbooks hands its ``lookup`` in as ``actions``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from remediator.runbooks.errors import Location
from remediator.runbooks.labels import StandIn, fill

STEP_LISTS = ("steps", "fallback_steps")

Problem = tuple[Location, str]


class ActionSpec(Protocol):
    """A catalogue entry, as validation sees it: it validates a step's params."""

    def validate(self, params: dict[str, Any]) -> object: ...


# The catalogue's lookup: an action by name; an unknown name raises a ValueError that
# names the known actions.
ActionLookup = Callable[[str], ActionSpec]


def check_actions(data: dict[str, Any], actions: ActionLookup) -> list[Problem]:
    problems: list[Problem] = []
    for key in STEP_LISTS:
        steps = data.get(key)
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict) or "action" not in step:
                continue
            try:
                action = actions(str(step["action"]))
            except ValueError as exc:
                problems.append(((key, i, "action"), str(exc)))
                continue
            try:
                # Placeholders are filled from alert labels at incident time; validate the
                # shape with a stand-in value (the activity validates the real one again).
                action.validate(fill(step.get("params") or {}, StandIn()))
            except ValidationError as exc:
                for err in exc.errors():
                    problems.append(((key, i, "params", *err["loc"]), err["msg"]))
    return problems


def check_step_ids(data: dict[str, Any]) -> list[Problem]:
    """Step ids are idempotency keys of their activities: unique across steps and fallbacks."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for key in STEP_LISTS:
        steps = data.get(key)
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            sid = step.get("id") if isinstance(step, dict) else None
            if not isinstance(sid, str):
                continue  # a missing or malformed id is pydantic's to report
            if sid in seen:
                problems.append(((key, i, "id"), f"duplicate step id {sid!r}"))
            seen.add(sid)
    return problems
