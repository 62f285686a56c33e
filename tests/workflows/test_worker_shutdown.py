"""A worker that shuts down while an incident waits on the guard exits promptly, and the
next worker asks the guard again and gets the answer once (sdk-rust #709: Temporal's
core retries a running local activity through shutdown, so a worker whose local activity
waits on a workflow only it could run would never exit; local calls that wait on a
workflow give up at shutdown, and the guard calls are activities since release-2026-12-d)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.guard import GuardActivities, GuardLink
from activities.support.worker_shutdown import WORKER_SHUTDOWN, unless_worker_shuts_down
from remediator.models.guard import STATUS, Admission, GuardPolicy
from tests.support.guard import GuardTestIncident, admit_request, intent
from tests.support.polling import eventually
from tests.workflows.conftest import guard_activities
from workers.main import workflow_runner
from workflows.guard.models import GuardState
from workflows.guard.workflow import GuardWorkflow


async def test_a_call_gives_up_when_the_worker_begins_to_shut_down() -> None:
    env = ActivityEnvironment()
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def waiting() -> str:
        return await unless_worker_shuts_down(never)

    call = asyncio.ensure_future(env.run(waiting))
    await asyncio.sleep(0.05)
    assert not call.done()
    env.worker_shutdown()
    with pytest.raises(ApplicationError) as refused:
        await asyncio.wait_for(call, 5)
    assert refused.value.type == WORKER_SHUTDOWN and refused.value.non_retryable
    assert never.cancelled()


async def test_a_finished_call_returns_its_result() -> None:
    async def answered() -> str:
        return await unless_worker_shuts_down(asyncio.sleep(0, "answer"))

    assert await ActivityEnvironment().run(answered) == "answer"


async def test_worker_waiting_on_the_guard_shuts_down_and_the_next_one_is_admitted(
        fast_client: Client) -> None:
    queue, guard_queue = f"inc-{uuid.uuid4().hex[:8]}", f"guard-{uuid.uuid4().hex[:8]}"
    # The guard lives on a queue nobody serves yet: the admission waits on it.
    link = GuardLink(fast_client, f"guard-{uuid.uuid4().hex[:8]}", guard_queue, GuardPolicy())
    first = Worker(fast_client, task_queue=queue, workflows=[GuardTestIncident],
                   activities=guard_activities(GuardActivities(link)),
                   workflow_runner=workflow_runner())
    await first.__aenter__()
    incident_id = f"INC-2099-{uuid.uuid4().int % 10**8:08d}"
    handle = await fast_client.start_workflow(
        GuardTestIncident.run, args=[admit_request(incident_id, intent("kubernetes:shop/api")),
                                     0.0], id=incident_id, task_queue=queue)

    async def guard_started() -> bool:
        await fast_client.get_workflow_handle(link.workflow_id).describe()
        return True

    await eventually(guard_started)  # the admission is now waiting on the guard
    # Once the admission was a local activity, this shutdown never ended (it retried
    # forever); it is an activity now, cancelled by the shutdown and retried by the server.
    await asyncio.wait_for(first.__aexit__(None, None, None), 30)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    events = [e async for e in handle.fetch_history_events()]
    assert [e.activity_task_scheduled_event_attributes.activity_type.name for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] == ["guard_admit"]
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]

    guard = GuardActivities(link)
    async with Worker(fast_client, task_queue=guard_queue, workflows=[GuardWorkflow],
                      activities=guard_activities(guard), workflow_runner=workflow_runner()), \
            Worker(fast_client, task_queue=queue, workflows=[GuardTestIncident],
                   activities=guard_activities(guard), workflow_runner=workflow_runner()):
        async def admitted() -> Admission | None:
            return await handle.query(GuardTestIncident.admission)

        admission = await eventually(admitted)
        assert admission.granted and admission.mode == "live"
        state = await fast_client.get_workflow_handle(link.workflow_id).query(
            STATUS, result_type=GuardState)
        assert [lock.holder.incident_id for lock in state.locks.values()] == [incident_id]
        await handle.signal(GuardTestIncident.finish)
        await handle.result()
