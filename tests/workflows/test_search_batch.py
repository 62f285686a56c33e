"""The incident's search-attribute changes of one workflow task go out in one upsert,
after the task's other commands, even when its code yields between them."""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.search_batching import SearchBatchTestWorkflow
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
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


async def test_an_incident_is_indexed_after_triage_and_once_at_its_close(
        start_incident: Start, fast_client: Client) -> None:
    """Since release n an incident's first upsert carries detect's service, title and
    runbook together with triage's severity and status and the next phase (triage runs
    no activity: an upsert of its own was an event, and a visibility write, for moments'
    worth of indexing), and its close goes out in one upsert as the review starts."""
    handle = await start_incident(Fakes(runbook(), policy()))
    await handle.result()
    upserts = [e.upsert_workflow_search_attributes_event_attributes.search_attributes
               .indexed_fields async for e in handle.fetch_history_events()
               if e.HasField("upsert_workflow_search_attributes_event_attributes")]
    # (a client started this incident: its release's patch marker upserts Temporal's own)
    upserts = [u for u in upserts if set(u) != {"TemporalChangeVersion"}]
    first = set(upserts[0])
    assert {"RemediatorService", "RemediatorRunbook", "RemediatorSeverity",
            "RemediatorStatus", "RemediatorPhase"} <= first, first
    phases = [fast_client.data_converter.payload_converter.from_payload(
        u["RemediatorPhase"]) for u in upserts if "RemediatorPhase" in u]
    # Triage's phase shows only while the rails' admission is still out, if at all; the
    # close (resolved, the postmortem phase, done) is indexed once, as the review starts.
    assert phases[-3:] == ["mitigate", "verify", "done"], phases
    assert phases[:-3] in ([], ["triage"]), phases
    statuses = [fast_client.data_converter.payload_converter.from_payload(
        u["RemediatorStatus"]) for u in upserts if "RemediatorStatus" in u]
    assert statuses[-1] == "resolved" and "RemediatorStatus" in upserts[-1], statuses
