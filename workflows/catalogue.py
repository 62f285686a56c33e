"""The mitigation catalogue: runbook action name → apply activity, undo activity, risk.

Adding a mitigation is one activity (in ``activities/``), one line here, and its
tests. Workflows look actions up here instead of branching on names; the params
model validates a runbook's ``params`` before any incident runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from remediator.models.mitigation import MitigationStep, RiskLevel


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def minimum_risk(self) -> RiskLevel:
        """The least risk these parameters can be run at, whatever the runbook says."""
        return RiskLevel.LOW


class SetFlagParams(Params):
    """Set feature flag ``flag`` to ``value`` (e.g. "off") in ``environment``."""

    flag: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=1000)
    environment: str | None = None
    # Where the flag lives: the remediator's Redis, or AWS SSM Parameter Store.
    store: Literal["redis", "ssm"] = "redis"


class CacheFlushParams(Params):
    """Delete the keys matching ``pattern`` (SCAN + UNLINK), or flush a whole database.

    ``scope: db`` is FLUSHDB of ``db`` (default: the database of the cache URL);
    ``scope: all`` is FLUSHALL and must restate ``risk: dangerous`` here, so that no
    runbook wipes every database of a server by accident. A flush cannot be undone.
    """

    scope: Literal["pattern", "db", "all"] = "pattern"
    pattern: str | None = Field(None, min_length=1, max_length=500)
    db: int | None = Field(None, ge=0)
    batch_size: int = Field(500, ge=1, le=10_000)
    risk: RiskLevel | None = None

    @model_validator(mode="after")
    def _scope_fits(self) -> Self:
        if self.scope == "pattern" and not self.pattern:
            raise ValueError("scope: pattern needs a pattern (e.g. 'session:*')")
        if self.scope != "pattern" and self.pattern:
            raise ValueError(f"scope: {self.scope} flushes whole databases; drop the pattern")
        if self.scope == "all" and self.risk != RiskLevel.DANGEROUS:
            raise ValueError("scope: all (FLUSHALL) must restate risk: dangerous in params")
        if self.scope == "all" and self.db is not None:
            raise ValueError("scope: all flushes every database; drop db")
        return self

    def minimum_risk(self) -> RiskLevel:
        return RiskLevel.DANGEROUS if self.scope == "all" else RiskLevel.LOW


class AsgCapacityParams(Params):
    """Set Auto Scaling group ``group``'s desired capacity to ``desired`` (absolute)."""

    group: str = Field(min_length=1, max_length=255)
    desired: int = Field(ge=0)


class LambdaAliasParams(Params):
    """Point Lambda ``function``'s ``alias`` at the published ``version`` (never $LATEST)."""

    function: str = Field(min_length=1, max_length=170)
    alias: str = Field(min_length=1, max_length=128)
    version: str = Field(pattern=r"^[0-9]+$")


# Names reach the API as URL path segments: no "/" or whitespace (runbooks may still use
# ``${labels.X}`` placeholders, which are filled in before the activity validates again).
KUBE_NAME = r"^[^/\s]{1,253}$"


class KubeDeploymentParams(Params):
    """A Deployment, by ``namespace`` and ``deployment`` name."""

    namespace: str = Field(pattern=KUBE_NAME)
    deployment: str = Field(pattern=KUBE_NAME)


class RolloutUndoParams(KubeDeploymentParams):
    """Roll the Deployment back to revision ``to_revision`` — or, unset, to the newest
    earlier revision that completed its rollout — and wait up to ``wait_seconds`` for it."""

    to_revision: int | None = Field(None, ge=1)
    wait_seconds: float = Field(300.0, ge=0)


class KubeScaleParams(KubeDeploymentParams):
    """Scale the Deployment to ``replicas`` (absolute; capped by REMEDIATOR_KUBE_MAX_REPLICAS)."""

    replicas: int = Field(ge=0)


class KubeRestartParams(KubeDeploymentParams):
    """Restart the Deployment's pods as ``kubectl rollout restart`` does; wait up to
    ``wait_seconds`` for the new pods."""

    wait_seconds: float = Field(300.0, ge=0)


@dataclass(frozen=True)
class Action:
    name: str
    apply_activity: str
    undo_activity: str | None
    risk: RiskLevel
    params: type[Params]
    # Activities that wait on a real system (a rollout) heartbeat at least this often
    # and may run this long, whatever the incident's mitigation timeout.
    heartbeat_seconds: float | None = None
    timeout_seconds: float | None = None

    def validate(self, params: dict[str, Any]) -> Params:
        return self.params.model_validate(params)

    def risk_of(self, step: MitigationStep) -> RiskLevel:
        """The step's risk: the runbook's or the catalogue's, never below what its
        parameters demand (a runbook cannot call FLUSHALL low-risk)."""
        declared = step.risk or self.risk
        floor = self.validate(step.params).minimum_risk()
        return declared if _RANK[declared] >= _RANK[floor] else floor

    def start_to_close(self, timeout: float) -> float:
        return max(timeout, self.timeout_seconds or 0.0)

    def heartbeat(self, timeout: float) -> float | None:
        """The heartbeat timeout: never longer than the step timeout, so a worker that
        dies mid-wait is noticed as soon as a plain activity's would be."""
        return None if self.heartbeat_seconds is None else min(self.heartbeat_seconds, timeout)


_RANK = {RiskLevel.LOW: 0, RiskLevel.RISKY: 1, RiskLevel.DANGEROUS: 2}


CATALOGUE: dict[str, Action] = {
    action.name: action
    for action in [
        Action("feature_flag.set", "set_flag", "restore_flag", RiskLevel.LOW, SetFlagParams),
        Action("cache.flush", "flush_cache", None, RiskLevel.RISKY, CacheFlushParams),
        Action("aws.asg.set_capacity", "set_asg_capacity", "restore_asg_capacity",
               RiskLevel.RISKY, AsgCapacityParams),
        Action("aws.lambda.rollback_alias", "rollback_lambda_alias", "restore_lambda_alias",
               RiskLevel.RISKY, LambdaAliasParams),
        Action("kubernetes.rollout_undo", "rollback_deployment", "restore_deployment_revision",
               RiskLevel.RISKY, RolloutUndoParams, heartbeat_seconds=10, timeout_seconds=600),
        Action("kubernetes.scale", "scale_deployment", "restore_deployment_scale",
               RiskLevel.RISKY, KubeScaleParams),
        Action("kubernetes.restart", "restart_deployment", None, RiskLevel.RISKY,
               KubeRestartParams, heartbeat_seconds=10, timeout_seconds=600),
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
