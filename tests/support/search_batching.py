"""``SearchBatchTestWorkflow``: search-attribute changes split by a yield in one task."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.support import search


@workflow.defn(name="SearchBatchTestWorkflow")
class SearchBatchTestWorkflow:
    @workflow.run
    async def run(self) -> None:
        attrs = search.SearchAttributes()
        attrs.update(status="mitigating", severity="P2")
        # Another ready callback runs before this code resumes, as when two results
        # arrive in one activation: the incident yielded between two changes there.
        await asyncio.create_task(self._already_answered())
        attrs.update(phase="mitigate")
        await workflow.sleep(timedelta(milliseconds=10))  # the next task
        attrs.update(status="monitoring")
        attrs.flush()

    async def _already_answered(self) -> None:
        return None
