"""The base of every mitigation's params model (each one sits beside its activity)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from remediator.models.mitigation import RiskLevel


class Params(BaseModel):
    """A runbook step's ``params`` for one action: unknown keys are refused, so a typo
    in a runbook fails validation instead of being ignored."""

    model_config = ConfigDict(extra="forbid")

    def target(self) -> str:
        """What the step changes, as ``kind:name`` (the guard's lock and cooldown key):
        two steps with one target must never run at once, in any two incidents."""
        raise NotImplementedError(f"{type(self).__name__} names no target")

    def cap_scope(self) -> str:
        """Where the fleet caps count the step (a namespace, an account, a store)."""
        return self.target().split(":", 1)[0]

    def describe(self) -> str:
        """One line for people (the Temporal UI's activity summary): what the step does.
        Empty by default: the catalogue then says ``action: k=v, …``."""
        return ""

    def minimum_risk(self) -> RiskLevel:
        """The least risk these parameters can be run at, whatever the runbook says."""
        return RiskLevel.LOW
