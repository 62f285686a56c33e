"""Mitigate: run the runbook's steps in order, each recorded with what undoes it."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.models import Phase, StepOutcome
    from workflows.phase_models import MitigateInput, MitigateResult
    from workflows.saga import apply_step
    from workflows.timeline import Recorder


@workflow.defn
class MitigateWorkflow:
    """Runbook steps applied once each (or described, in dry-run), failures recorded."""

    @workflow.run
    async def run(self, inp: MitigateInput) -> MitigateResult:
        rec = Recorder(Phase.MITIGATE)
        outcomes: list[StepOutcome] = []
        for step in inp.steps:
            await rec.add("mitigation.started", f"{step.id}: {step.action} {step.params}")
            outcome = await apply_step(
                inp.incident_id, step, inp.dry_run, inp.timings.mitigation_timeout_seconds
            )
            outcomes.append(outcome)
            await rec.add(f"mitigation.{outcome.state}", f"{step.id}: {outcome.detail}")
        return MitigateResult(outcomes=outcomes)
