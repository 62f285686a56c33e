"""What the benchmarks read back from Temporal: event times and counts per execution."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError

PHASES = ("detect", "triage", "mitigate", "verify", "postmortem")


async def events(client: Client, workflow_id: str, run_id: str | None = None) -> list[HistoryEvent]:
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    return [e async for e in handle.fetch_history_events()]


def at(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime().timestamp()


# Activities of the mitigate phase that are its rails, not a mitigation: the check that
# the alerts still fire and the guard's fleet slot (activities since release-2026-12-d,
# one since release-2026-12-h).
RAILS = frozenset({"alerts_still_firing", "guard_step_started_if_firing", "guard_admit",
                   "guard_step_started", "guard_step_finished", "guard_verification_recorded",
                   "guard_recurred", "guard_release"})


def _first_step(history: list[HistoryEvent]) -> tuple[HistoryEvent, int] | None:
    """The first mitigation activity's scheduled event and id (rails skipped)."""
    for e in history:
        if (e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                and e.activity_task_scheduled_event_attributes.activity_type.name not in RAILS):
            return e, e.event_id
    return None


async def first_mitigation(client: Client, incident_id: str) -> tuple[float, float]:
    """When the mitigate phase scheduled and started its first mitigation (epoch s)."""
    history = await events(client, f"{incident_id}/mitigate")
    first = _first_step(history)
    started = next((at(e) for e in history
                    if first is not None and e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                    and e.activity_task_started_event_attributes.scheduled_event_id == first[1]),
                   None)
    if first is None or started is None:
        raise RuntimeError(f"{incident_id}: no mitigation activity")
    return at(first[0]), started


async def step_completed(client: Client, incident_id: str) -> float:
    """When the mitigate phase's first mitigation completed (epoch s)."""
    history = await events(client, f"{incident_id}/mitigate")
    first = _first_step(history)
    for e in history:
        if (first is not None and e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                and e.activity_task_completed_event_attributes.scheduled_event_id == first[1]):
            return at(e)
    raise RuntimeError(f"{incident_id}: the mitigation never completed")


async def _runs(client: Client, workflow_id: str) -> list[int]:
    """Event counts of every run of a workflow id (continue-as-new makes several)."""
    counts = []
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        counts.append(len(await events(client, workflow_id, execution.run_id)))
    return counts


async def incident_cost(client: Client, incident_id: str, group_id: str | None) -> dict[str, int]:
    """History events per execution of one incident: itself, each phase, its alert group."""
    ids = {"incident": incident_id, **{p: f"{incident_id}/{p}" for p in PHASES}}
    if group_id:
        ids["alert_group"] = group_id
    cost: dict[str, int] = {}
    executions = 0
    for name, workflow_id in ids.items():
        try:
            runs = await _runs(client, workflow_id)
        except RPCError:
            runs = []
        cost[name] = sum(runs)
        executions += len(runs)
    cost["total"] = sum(v for k, v in cost.items() if k != "total")
    cost["executions"] = executions
    return cost


async def event_kinds(client: Client, incident_id: str, group_id: str | None) -> dict[str, dict[str, int]]:
    """Per execution of one incident, how many events of each type: where its cost is."""
    ids = {"incident": incident_id, **{p: f"{incident_id}/{p}" for p in PHASES}}
    if group_id:
        ids["alert_group"] = group_id
    kinds: dict[str, dict[str, int]] = {}
    for name, workflow_id in ids.items():
        counts: dict[str, int] = {}
        try:
            history = await events(client, workflow_id)
        except RPCError:
            continue
        for e in history:
            kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
            counts[kind] = counts.get(kind, 0) + 1
        kinds[name] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    return kinds


def _label(e: HistoryEvent) -> str:
    kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
    if e.HasField("activity_task_scheduled_event_attributes"):
        kind += " " + e.activity_task_scheduled_event_attributes.activity_type.name
    elif e.HasField("start_child_workflow_execution_initiated_event_attributes"):
        kind += " " + e.start_child_workflow_execution_initiated_event_attributes.workflow_id
    elif e.HasField("marker_recorded_event_attributes"):
        kind += " " + e.marker_recorded_event_attributes.marker_name
    return kind


async def critical_path(client: Client, incident_id: str, group_id: str | None,
                        sent: float) -> list[str]:
    """Every execution's events from the alert POST (``sent``) to the first mitigation
    started, in time order, ms after the POST: where the idle latency goes."""
    ids = {"group": group_id, "incident": incident_id,
           **{p: f"{incident_id}/{p}" for p in PHASES[:3]}}
    _, until = await first_mitigation(client, incident_id)
    rows: list[tuple[float, str]] = []
    for name, workflow_id in ids.items():
        if workflow_id is None:
            continue
        try:
            history = await events(client, workflow_id)
        except RPCError:
            continue
        rows += [(at(e), f"{name:9} {_label(e)}") for e in history if at(e) <= until + 1e-6]
    return [f"{(t - sent) * 1000:7.1f} ms  {label}" for t, label in sorted(rows)]
