"""Allocating an incident number: an Update to the year's counter workflow."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.support.crash_points import CrashPoints
from activities.support.worker_shutdown import unless_worker_shuts_down
from remediator.models.incident_number import (
    ALLOCATE,
    COUNTER_WORKFLOW,
    NUMBERS_TASK_QUEUE,
    CounterState,
    counter_id,
)


async def allocate_incident_id(client: Client, year: int) -> str:
    """``INC-<year>-<n>``, unique in the namespace; starts the year's counter if needed."""
    start: WithStartWorkflowOperation[Any, None] = WithStartWorkflowOperation(
        COUNTER_WORKFLOW, CounterState(year=year), id=counter_id(year),
        task_queue=NUMBERS_TASK_QUEUE, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    incident_id: str = await client.execute_update_with_start_workflow(
        ALLOCATE, start_workflow_operation=start, result_type=str)
    return incident_id


class NumberActivities:
    def __init__(self, client: Client, crash: CrashPoints | None = None) -> None:
        self._client = client
        self._crash = crash or CrashPoints(None)

    @activity.defn
    async def allocate_incident_number(self, year: int) -> str:
        """The next incident id of ``year``. A retry after a crash may skip a number
        (a gap), never repeat one."""
        incident_id = await unless_worker_shuts_down(allocate_incident_id(self._client, year))
        self._crash.reach("incident_number.allocated")
        return incident_id
