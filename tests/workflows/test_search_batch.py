"""The incident's search-attribute changes of one workflow task go out in one upsert,
after the task's other commands, even when its code yields between them."""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.search_batching import SearchBatchTestWorkflow
from workers.main import workflow_runner


async def test_changes_split_by_a_yield_go_out_in_one_upsert_at_the_task_end(
        fast_client: Client) -> None:
    queue = f"search-{uuid.uuid4().hex[:8]}"
    async with Worker(fast_client, task_queue=queue, workflows=[SearchBatchTestWorkflow],
                      workflow_runner=workflow_runner()):
        handle = await fast_client.start_workflow(
            SearchBatchTestWorkflow.run, id=f"search-{uuid.uuid4().hex[:8]}", task_queue=queue)
        await handle.result()
    tasks: list[list[str]] = [[]]
    for event in (await handle.fetch_history()).events:
        kind = str(event.WhichOneof("attributes")).removesuffix("_event_attributes")
        if kind == "workflow_task_completed":
            tasks.append([])
        elif kind in ("timer_started", "upsert_workflow_search_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            ours = sorted(k for k in fields.indexed_fields if k.startswith("Remediator"))
            if kind == "timer_started" or ours:  # not the SDK's patch-marker upsert
                tasks[-1].append(kind if kind == "timer_started" else ",".join(ours))
    assert tasks[1] == ["timer_started",
                        "RemediatorPhase,RemediatorSeverity,RemediatorStatus"], tasks
    assert tasks[2] == ["RemediatorStatus"], tasks
