"""Fast tier: a step's fleet slot is freed by the worker as the step's apply succeeds
(``workers.slot_return``, since release-2026-12-n), and by the phase otherwise."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.guard.models import GuardState
from workflows.guard.workflow import GuardWorkflow
from workflows.incident import IncidentWorkflow


async def _activities(client: Client, workflow_id: str) -> list[str]:
    handle = client.get_workflow_handle(workflow_id)
    return [e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]


async def _guard(client: Client, handle: WorkflowHandle[IncidentWorkflow, object]) -> GuardState:
    queue = (await handle.describe()).task_queue
    state: GuardState = await client.get_workflow_handle(f"guard-{queue}").query(
        GuardWorkflow.status)
    return state


async def test_the_worker_frees_the_slot_as_the_step_succeeds(
    start_incident: Start, fast_client: Client,
) -> None:
    """The phase asks for the go-ahead, applies the step, and is done: no call of its own
    to free the slot (six history events), yet the slot is free and the action's
    cooldown on its target started, as when the phase freed it."""
    handle = await start_incident(Fakes(runbook(), policy()))
    await handle.result()
    mitigate = await _activities(fast_client, f"{handle.id}/mitigate")
    assert mitigate == ["guard_step_started_if_firing", "set_flag"], mitigate
    guard = await _guard(fast_client, handle)
    assert guard.slots == []
    assert any("checkout-v2" in key for key in guard.applied), guard.applied


async def test_a_failed_step_leaves_the_slot_to_the_phase(
    start_incident: Start, fast_client: Client,
) -> None:
    """A step that fails frees nothing in the worker: the phase frees the slot, and no
    cooldown starts for a change that was not made."""
    fakes = Fakes(runbook(), policy())
    fakes.apply_fails = True
    handle = await start_incident(fakes)

    async def mitigated() -> list[str] | None:
        done = await _activities(fast_client, f"{handle.id}/mitigate")
        return done if "guard_step_finished" in done else None

    mitigate = await eventually(mitigated, timeout=30, what="the phase freed the slot")
    assert mitigate == ["guard_step_started_if_firing", "set_flag", "guard_step_finished"]
    guard = await _guard(fast_client, handle)
    assert guard.slots == [] and guard.applied == {}
