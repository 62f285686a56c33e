"""Incident numbers: ``INC-<year>-<number>``, one counter per year, never reused.

The counter is a long-lived workflow per year. ``allocate`` is a synchronous Update:
the increment and its answer are recorded in one workflow task, so a worker or server
killed mid-allocation either handed the number out (it is in the history) or did not
(the caller retries and gets the next one). Numbers are unique and increasing; a
caller that crashes after allocating leaves a gap, never a duplicate.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.incident_number import (
        ALLOCATE,
        COUNTER_WORKFLOW,
        CounterState,
        incident_id,
    )

# An execution's history stays small: a fresh run every so many allocations.
ROLLOVER_AFTER = 500


@workflow.defn(name=COUNTER_WORKFLOW)
class IncidentNumbersWorkflow:
    """The year's incident counter; runs for as long as numbers are asked for."""

    @workflow.init
    def __init__(self, state: CounterState) -> None:
        self._state = state
        self._served = 0

    @workflow.run
    async def run(self, state: CounterState) -> None:
        await workflow.wait_condition(lambda: self._served >= ROLLOVER_AFTER
                                      or workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state)

    @workflow.update(name=ALLOCATE)
    def allocate(self) -> str:
        """The next incident id of the year."""
        self._state.last += 1
        self._served += 1
        return incident_id(self._state.year, self._state.last)
