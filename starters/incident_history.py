"""An incident no worker answers for, read from its history: one that failed, was
terminated or timed out (its workflow code cannot answer a query any more), or a
running one while no worker is up. What it says comes from the run's input (the alerts
or the declaration, and all an earlier run carried over), its search attributes and,
for an ended run, why it ended."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistoryEventFilterType,
)

from remediator.models.incident import IncidentStatus, Phase, TimelineEntry
from remediator.severity import Severity
from workflows.incident_models import IncidentInput, IncidentView
from workflows.support import search

# How each way of ending without a result reads in the timeline.
ENDINGS = {
    WorkflowExecutionStatus.FAILED: "incident.failed",
    WorkflowExecutionStatus.TERMINATED: "incident.terminated",
    WorkflowExecutionStatus.TIMED_OUT: "incident.timed_out",
    WorkflowExecutionStatus.CANCELED: "incident.canceled",
}


async def view_from_history(client: Client, handle: WorkflowHandle[Any, IncidentView],
                            described: WorkflowExecutionDescription) -> IncidentView:
    """The incident as its history tells it; ``failure`` says why an ended run failed."""
    inp = await _input(client, handle)
    carried = inp.carried if inp else None
    attrs = described.typed_search_attributes
    ending = ENDINGS.get(described.status) if described.status else None
    failure = None
    timeline = list(carried.timeline) if carried else []
    if ending is not None:
        failure = await _why_ended(handle, ending)
        timeline.append(TimelineEntry(at=described.close_time or datetime.now(UTC), kind=ending,
                                      detail=failure, phase=_phase(attrs.get(search.PHASE))))
    declared = inp.declared if inp else None
    alerts = (carried.alerts if carried else inp.alerts) if inp else []
    first = alerts[0] if alerts else None
    opened = carried.opened if carried else None
    return IncidentView(
        id=handle.id,
        status=IncidentStatus.FAILED if ending else _status(attrs.get(search.STATUS)),
        phase=_phase(attrs.get(search.PHASE)),
        severity=_severity(attrs.get(search.SEVERITY)) or (declared.severity if declared else None),
        title=(opened.title if opened else declared.title if declared
               else first.annotations.get("summary", first.name) if first else ""),
        service=attrs.get(search.SERVICE) or (declared.service if declared else "")
        or (first.labels.get("service", "") if first else ""),
        runbook=(opened.runbook.name if opened and opened.runbook
                 else declared.runbook if declared else None),
        alerts=len(alerts), timeline=timeline, steps=list(carried.steps) if carried else [],
        verdict=carried.verdict if carried else None, postmortem=None,
        acknowledged_by=carried.acknowledged_by if carried else None,
        dry_run=bool(carried and carried.dry_run) or bool(inp and inp.dry_run),
        duplicates=carried.duplicates if carried else 0,
        previous=inp.recurrence.previous_id if inp and inp.recurrence else None,
        declared_by=declared.by if declared else None,
        failure=failure, from_history=True)


async def _input(client: Client, handle: WorkflowHandle[Any, IncidentView]
                 ) -> IncidentInput | None:
    """The run's start input (an unreadable one, e.g. from a much older version: None)."""
    async for event in handle.fetch_history_events(page_size=1):
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return None
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        try:
            [inp] = await client.data_converter.decode(list(payloads), [IncidentInput])
        except Exception:  # what it was started with no longer parses: show the rest
            return None
        return inp if isinstance(inp, IncidentInput) else None
    return None


async def _why_ended(handle: WorkflowHandle[Any, IncidentView], ending: str) -> str:
    """The failure's message (and its causes'), or the termination's reason."""
    events = handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT)
    async for event in events:
        if event.HasField("workflow_execution_failed_event_attributes"):
            failure = event.workflow_execution_failed_event_attributes.failure
            messages = [failure.message]
            while failure.HasField("cause"):
                failure = failure.cause
                messages.append(failure.message)
            return "failed: " + ": ".join(m for m in messages if m)
        if event.HasField("workflow_execution_terminated_event_attributes"):
            attrs = event.workflow_execution_terminated_event_attributes
            return f"terminated by {attrs.identity or 'someone'}: {attrs.reason or 'no reason given'}"
        if event.HasField("workflow_execution_timed_out_event_attributes"):
            return "timed out: the workflow ran past its execution timeout"
        if event.HasField("workflow_execution_canceled_event_attributes"):
            return "canceled"
    return ending.removeprefix("incident.").replace("_", " ")


def _phase(value: str | None) -> Phase:
    return Phase(value) if value in set(Phase) else Phase.DETECT


def _status(value: str | None) -> IncidentStatus:
    return IncidentStatus(value) if value in set(IncidentStatus) else IncidentStatus.OPEN


def _severity(value: str | None) -> Severity | None:
    return Severity(value) if value in set(Severity) else None
