"""``WaitsTestWorkflow``: one ``waits.until`` call, its answer and when it came."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.support import waits


@workflow.defn(name="WaitsTestWorkflow")
class WaitsTestWorkflow:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, seconds: float) -> tuple[bool, float]:
        start = workflow.now()
        answer = await waits.until(lambda: self._done, seconds, "test wait")
        return answer, (workflow.now() - start).total_seconds()

    @workflow.signal
    def done(self) -> None:
        self._done = True
