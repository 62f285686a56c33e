"""Incident ids (``INC-<year>-<number>``) and the yearly counter workflow's contract, by name."""

from __future__ import annotations

import re
from datetime import date

from remediator.models.contract import Contract

# Not the incidents' task queue: every worker of the namespace serves the counter, so
# an allocation never waits for one particular deployment.
NUMBERS_TASK_QUEUE = "remediator-numbers"
# The counter workflow and its update, by name: the activity that allocates reaches
# them through a client and imports no workflow code.
COUNTER_WORKFLOW = "IncidentNumbersWorkflow"
ALLOCATE = "allocate"  # the counter's update: the next id of the year

INCIDENT_ID = re.compile(r"^INC-(\d{4})-(\d{4,})$")
# Ids of incidents opened before numbering (one per alert group): still served.
LEGACY_ID = re.compile(r"^inc-[0-9a-f]{20}$")


def incident_id(year: int, number: int) -> str:
    """Seed 05's ``INC-2024-001``, zero-padded to at least four digits."""
    return f"INC-{year}-{number:04d}"


def is_incident_id(text: str) -> bool:
    return bool(INCIDENT_ID.match(text) or LEGACY_ID.match(text))


def channel_name(incident: str, opened: date) -> str | None:
    """Seed 02's incident channel, ``incident-YYYY-MM-DD-NNNN`` (without the ``#``), or None
    for an id without a number (incidents opened before numbering)."""
    found = INCIDENT_ID.match(incident)
    return f"incident-{opened:%Y-%m-%d}-{found.group(2)}" if found else None


def counter_id(year: int) -> str:
    return f"incident-numbers-{year}"


class CounterState(Contract):
    year: int
    last: int = 0
