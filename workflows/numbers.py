"""Incident numbers: ``INC-<year>-<number>``, one counter per year, never reused.

The counter is a long-lived workflow per year. ``allocate`` is a synchronous Update:
the increment and its answer are recorded in one workflow task, so a worker or server
killed mid-allocation either handed the number out (it is in the history) or did not
(the caller retries and gets the next one). Numbers are unique and increasing; a
caller that crashes after allocating leaves a gap, never a duplicate.
"""

from __future__ import annotations

import re

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.models import Contract

# Not the incidents' task queue: every worker of the namespace serves the counter, so
# an allocation never waits for one particular deployment.
NUMBERS_TASK_QUEUE = "remediator-numbers"
# An execution's history stays small: a fresh run every so many allocations.
ROLLOVER_AFTER = 500

INCIDENT_ID = re.compile(r"^INC-(\d{4})-(\d{4,})$")
# Ids of incidents opened before numbering (one per alert group): still served.
LEGACY_ID = re.compile(r"^inc-[0-9a-f]{20}$")


def incident_id(year: int, number: int) -> str:
    """Seed 05's ``INC-2024-001``, zero-padded to at least four digits."""
    return f"INC-{year}-{number:04d}"


def is_incident_id(text: str) -> bool:
    return bool(INCIDENT_ID.match(text) or LEGACY_ID.match(text))


def counter_id(year: int) -> str:
    return f"incident-numbers-{year}"


class CounterState(Contract):
    year: int
    last: int = 0


@workflow.defn
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

    @workflow.update
    def allocate(self) -> str:
        """The next incident id of the year."""
        self._state.last += 1
        self._served += 1
        return incident_id(self._state.year, self._state.last)
