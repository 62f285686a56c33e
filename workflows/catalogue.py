"""The mitigation catalogue: runbook action name → apply and undo activity methods, params, risk.

Adding a mitigation is one activity (in ``activities/<system>/``, its params model
beside it), one line here, and its tests: the worker registers every method named
here, and the saga runs them by reference, so one click leads from an action name to
its code. Workflows look actions up here instead of branching on names; the params
model validates a runbook's ``params`` before any incident runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio import activity

from activities.alertmanager.silence import SilenceActivities, SilenceParams
from activities.aws.asg import AsgActivities, AsgCapacityParams
from activities.aws.lambda_alias import LambdaActivities, LambdaAliasParams
from activities.cache.flush import CacheActivities, CacheFlushParams
from activities.feature_flags.activities import FlagActivities, SetFlagParams
from activities.haproxy.servers import (
    DrainServerParams,
    HaproxyActivities,
    SetMaxconnParams,
    SetWeightParams,
)
from activities.kubernetes.restart import KubeRestartParams, RestartActivities
from activities.kubernetes.rollback import RolloutActivities, RolloutUndoParams
from activities.kubernetes.scale import KubeScaleParams, ScaleActivities
from activities.postgres.queries import PgQueriesParams, PostgresActivities, TerminateQueriesParams
from activities.support.params import Params
from remediator.models.mitigation import (
    MitigationRequest,
    MitigationResult,
    MitigationStep,
    RiskLevel,
    UndoRequest,
    UndoResult,
)

ApplyMethod = Callable[[Any, MitigationRequest], Awaitable[MitigationResult]]

UndoMethod = Callable[[Any, UndoRequest], Awaitable[UndoResult]]


def activity_name(method: Callable[..., Any]) -> str:
    """The activity type name a method is registered (and recorded in histories) under."""
    name = activity._Definition.must_from_callable(method).name
    assert name is not None, f"{method.__qualname__} is a dynamic activity"
    return name


# How soon a worker killed mid-step is noticed (the step then retries elsewhere).
STEP_HEARTBEAT_SECONDS = 3.0

@dataclass(frozen=True)
class Action:
    """A runbook action: what applies it, what undoes it (None: it cannot be undone),
    its default risk and the params model its runbook steps must satisfy."""

    name: str
    apply: ApplyMethod
    undo: UndoMethod | None
    risk: RiskLevel
    params: type[Params]
    # Activities that wait on a real system (a rollout) heartbeat at least this often
    # and may run this long, whatever the incident's mitigation timeout.
    heartbeat_seconds: float | None = None
    timeout_seconds: float | None = None

    @property
    def apply_activity(self) -> str:
        return activity_name(self.apply)

    @property
    def undo_activity(self) -> str | None:
        return None if self.undo is None else activity_name(self.undo)

    def methods(self) -> list[Callable[..., Any]]:
        """The activity methods a worker must register for this action."""
        return [self.apply] if self.undo is None else [self.apply, self.undo]

    def validate(self, params: dict[str, Any]) -> Params:
        return self.params.model_validate(params)

    def describe(self, step: MitigationStep) -> str:
        """The step in one line for people ("set flag checkout-v2 → off")."""
        try:
            said = self.validate(step.params).describe()
        except ValueError:  # a step the activity will refuse: say what it asked for
            said = ""
        return said or f"{self.name}: " + ", ".join(f"{k}={v}" for k, v in step.params.items())

    def risk_of(self, step: MitigationStep) -> RiskLevel:
        """The step's risk: the runbook's or the catalogue's, never below what its
        parameters demand (a runbook cannot call FLUSHALL low-risk)."""
        declared = step.risk or self.risk
        floor = self.validate(step.params).minimum_risk()
        return declared if _RANK[declared] >= _RANK[floor] else floor

    def start_to_close(self, timeout: float) -> float:
        return max(timeout, self.timeout_seconds or 0.0)

    def heartbeat(self, timeout: float) -> float:
        """The heartbeat timeout (the worker heartbeats every activity that has one): a
        worker killed mid-step is noticed within seconds, and the step retried on a live
        worker, instead of after the whole step timeout."""
        return min(self.heartbeat_seconds or STEP_HEARTBEAT_SECONDS, timeout)


_RANK = {RiskLevel.LOW: 0, RiskLevel.RISKY: 1, RiskLevel.DANGEROUS: 2}


CATALOGUE: dict[str, Action] = {
    action.name: action
    for action in [
        Action("feature_flag.set", FlagActivities.set_flag, FlagActivities.restore_flag,
               RiskLevel.LOW, SetFlagParams),
        Action("cache.flush", CacheActivities.flush_cache, None, RiskLevel.RISKY, CacheFlushParams),
        Action("aws.asg.set_capacity", AsgActivities.set_asg_capacity,
               AsgActivities.restore_asg_capacity, RiskLevel.RISKY, AsgCapacityParams),
        Action("aws.lambda.rollback_alias", LambdaActivities.rollback_lambda_alias,
               LambdaActivities.restore_lambda_alias, RiskLevel.RISKY, LambdaAliasParams),
        Action("kubernetes.rollout_undo", RolloutActivities.rollback_deployment,
               RolloutActivities.restore_deployment_revision, RiskLevel.RISKY, RolloutUndoParams,
               heartbeat_seconds=10, timeout_seconds=600),
        Action("kubernetes.scale", ScaleActivities.scale_deployment,
               ScaleActivities.restore_deployment_scale, RiskLevel.RISKY, KubeScaleParams),
        Action("kubernetes.restart", RestartActivities.restart_deployment, None, RiskLevel.RISKY,
               KubeRestartParams, heartbeat_seconds=10, timeout_seconds=600),
        Action("postgres.cancel_queries", PostgresActivities.cancel_queries, None,
               RiskLevel.RISKY, PgQueriesParams),
        Action("postgres.terminate_queries", PostgresActivities.terminate_queries, None,
               RiskLevel.DANGEROUS, TerminateQueriesParams),
        Action("haproxy.drain_server", HaproxyActivities.drain_server,
               HaproxyActivities.restore_server_state, RiskLevel.RISKY, DrainServerParams),
        Action("haproxy.set_weight", HaproxyActivities.set_server_weight,
               HaproxyActivities.restore_server_weight, RiskLevel.RISKY, SetWeightParams),
        Action("haproxy.set_maxconn", HaproxyActivities.set_server_maxconn,
               HaproxyActivities.restore_server_maxconn, RiskLevel.RISKY, SetMaxconnParams),
        Action("alertmanager.silence", SilenceActivities.create_silence,
               SilenceActivities.expire_silence, RiskLevel.RISKY, SilenceParams),
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
