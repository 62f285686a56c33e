"""The mitigation catalogue: runbook action name → apply activity, undo activity, risk.

Adding a mitigation is one activity (in ``activities/``), one line here, and its
tests. Workflows look actions up here instead of branching on names; the params
model validates a runbook's ``params`` before any incident runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflows.models import RiskLevel


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetFlagParams(Params):
    """Set feature flag ``flag`` to ``value`` (e.g. "off") in ``environment``."""

    flag: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=1000)
    environment: str | None = None


@dataclass(frozen=True)
class Action:
    name: str
    apply_activity: str
    undo_activity: str | None
    risk: RiskLevel
    params: type[Params]

    def validate(self, params: dict[str, Any]) -> Params:
        return self.params.model_validate(params)


CATALOGUE: dict[str, Action] = {
    action.name: action
    for action in [
        Action("feature_flag.set", "set_flag", "restore_flag", RiskLevel.LOW, SetFlagParams),
    ]
}


class UnknownAction(ValueError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(CATALOGUE))
        super().__init__(f"unknown action {name!r}; known actions: {known}")


def lookup(name: str) -> Action:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownAction(name) from None
