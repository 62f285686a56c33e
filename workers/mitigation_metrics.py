"""Counts every mitigation activity's outcome by catalogue action, as the activity
finishes: applied, not applied, dry run (the plans of shadow mode and of steps waiting
for approval), refused (allow-lists and other definite no's), failed attempts, undone."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from remediator.models.mitigation import MitigationResult, UndoResult
from remediator.telemetry.metrics import Metrics
from workflows.catalogue import CATALOGUE


def _activity_actions() -> dict[str, tuple[str, bool]]:
    """Activity type → (action name, whether it is the undo)."""
    found: dict[str, tuple[str, bool]] = {}
    for action in CATALOGUE.values():
        found.setdefault(action.apply_activity, (action.name, False))
        if action.undo_activity is not None:
            found.setdefault(action.undo_activity, (action.name, True))
    return found


def _outcome(result: object, undo: bool) -> str:
    if isinstance(result, UndoResult):
        return "undone" if result.undone else "undo_conflict" if result.conflict else "not_undone"
    if isinstance(result, MitigationResult):
        return "dry_run" if result.dry_run else "applied" if result.applied else "not_applied"
    return "undone" if undo else "applied"


class _CountMitigations(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: Metrics,
                 actions: dict[str, tuple[str, bool]]) -> None:
        super().__init__(next)
        self._metrics = metrics
        self._actions = actions

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        known = self._actions.get(activity.info().activity_type)
        if known is None:
            return await self.next.execute_activity(input)
        action, undo = known
        prefix = "undo_" if undo else ""
        try:
            result = await self.next.execute_activity(input)
        except ApplicationError as exc:
            outcome = "refused" if exc.non_retryable else "failed"
            self._metrics.mitigations.labels(action, prefix + outcome).inc()
            raise
        except Exception:
            self._metrics.mitigations.labels(action, prefix + "failed").inc()
            raise
        self._metrics.mitigations.labels(action, _outcome(result, undo)).inc()
        return result


class MitigationMetricsInterceptor(Interceptor):
    """Worker interceptor: mitigation outcomes into ``metrics`` (other activities pass)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._actions = _activity_actions()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountMitigations(next, self._metrics, self._actions)
