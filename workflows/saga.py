"""Apply and undo mitigation steps through the catalogue (the saga's two halves)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from remediator.models.guard import StepFinished
    from remediator.models.mitigation import (
        MitigationRequest,
        MitigationStep,
        StepOutcome,
        UndoRequest,
    )
    from workflows.catalogue import Action, lookup
    from workflows.support import ui
    from workflows.support.options import ActivityOptions, side_effect


def failure_message(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'error'}: {cause.message}"
    return str(cause or err)


def occurrence(incident_id: str) -> str:
    """The incident id and the run of the incident that runs this phase: unique even
    across Temporal namespaces or servers that share the systems being changed."""
    parent = workflow.info().parent
    return f"{incident_id}@{parent.run_id}" if parent else incident_id


def _options(action: Action, timeout: float) -> ActivityOptions:
    return side_effect(action.start_to_close(timeout), heartbeat_seconds=action.heartbeat(timeout))


async def apply_step(
    incident_id: str, step: MitigationStep, dry_run: bool, timeout: float
) -> StepOutcome:
    """Run a step's apply activity; a refusal or exhausted retry becomes a failed outcome."""
    outcome, _ = await apply_step_in_slot(incident_id, step, dry_run, timeout, None)
    return outcome


async def apply_step_in_slot(
    incident_id: str, step: MitigationStep, dry_run: bool, timeout: float,
    slot: StepFinished | None,
) -> tuple[StepOutcome, bool]:
    """``apply_step`` for a step holding the fleet slot ``slot``; and whether the worker
    freed that slot as the step succeeded (``workers.slot_return``)."""
    action = lookup(step.action)
    risk = action.risk_of(step)
    request = MitigationRequest(
        incident_id=incident_id, step_id=step.id, params=step.params, dry_run=dry_run,
        occurrence=occurrence(incident_id), slot=slot)
    try:
        result = await workflow.execute_activity_method(
            action.apply, request, activity_id=f"apply/{step.id}", **_options(action, timeout),
            summary=ui.line(f"{'plan (dry run) of ' if dry_run else ''}{ui.step_line(step)}"),
        )
    except ActivityError as err:
        return StepOutcome(step_id=step.id, action=step.action, risk=risk, state="failed",
                           detail=failure_message(err)), False
    return StepOutcome(
        step_id=step.id, action=step.action, risk=risk,
        state="dry_run" if result.dry_run else "applied", detail=result.detail,
        undo=result.undo, undo_action=action.undo_activity,
    ), result.slot_freed


async def undo_step(incident_id: str, outcome: StepOutcome, timeout: float) -> StepOutcome:
    """Reverse one applied step with the undo data it recorded."""
    action = lookup(outcome.action)
    if outcome.undo is None or outcome.undo_action is None or action.undo is None:
        return outcome.model_copy(update={"detail": outcome.detail + "; no undo available"})
    request = UndoRequest(incident_id=incident_id, step_id=outcome.step_id, undo=outcome.undo,
                          occurrence=occurrence(incident_id))
    try:
        result = await workflow.execute_activity_method(
            action.undo, request, activity_id=f"undo/{outcome.step_id}",
            **_options(action, timeout),
            summary=ui.line(f"undo {outcome.step_id} ({outcome.action}): {outcome.detail}"),
        )
    except ActivityError as err:
        return outcome.model_copy(update={"state": "undo_conflict",
                                          "detail": f"undo failed: {failure_message(err)}"})
    state = "undone" if result.undone else "undo_conflict"
    return outcome.model_copy(update={"state": state, "detail": result.detail})


async def undo_in_reverse(
    incident_id: str, applied: list[StepOutcome], timeout: float
) -> list[StepOutcome]:
    """Undo every applied step, last first, as a saga compensates."""
    undone = []
    for outcome in reversed([o for o in applied if o.state == "applied"]):
        undone.append(await undo_step(incident_id, outcome, timeout))
    return undone
