"""Postmortem: the incident's record rendered into the review document and stored."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.postmortem_store import PostmortemActivities
    from workflows.models import Phase
    from workflows.options import side_effect
    from workflows.phase_models import PostmortemInput, PostmortemResult
    from workflows.timeline import Recorder


@workflow.defn
class PostmortemWorkflow:
    """Timeline → document (summary, timeline, impact, root cause, five whys, actions)."""

    @workflow.run
    async def run(self, doc: PostmortemInput) -> PostmortemResult:
        rec = Recorder(Phase.POSTMORTEM)
        result = await workflow.execute_activity_method(
            PostmortemActivities.store_postmortem, doc, **side_effect(30)
        )
        await rec.add("postmortem.written", result.path)
        return result
