"""The status board: services as components, open incidents, and the recent past.

Read from Temporal: visibility finds the customer-facing incidents of the last days
(``RemediatorSeverity``, ``RemediatorService``, ``RemediatorStatus``), each incident's
``status`` query gives its timeline, which ``remediator.public_status`` turns into
customer updates. Answers are kept a few seconds, so a page many phones reload does
not query every incident each time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from remediator.models.contract import Contract
from remediator.models.incident import IncidentStatus, TimelineEntry
from remediator.public_status import (
    Impact,
    PublicIncident,
    PublicState,
    public_incident,
)
from remediator.severity import Severity
from starters.incidents import IncidentNotFound, Incidents
from workflows.support import search

# Without the timeline (no worker answers), the indexed status says how far it got.
KINDS_OF_STATUS = {
    IncidentStatus.AWAITING_APPROVAL: ("approval.requested",),
    IncidentStatus.MONITORING: ("mitigation.started", "verify.window_started"),
}
MAX_INCIDENTS = 500


class Component(Contract):
    name: str
    state: Impact
    label: str


class Board(Contract):
    """Everything ``/status`` and ``/status.json`` show."""

    title: str
    generated_at: datetime
    overall: Impact
    overall_label: str
    components: list[Component]
    open: list[PublicIncident]
    past: list[PublicIncident]
    days: int


def _overall_label(impact: Impact) -> str:
    return {Impact.OPERATIONAL: "All systems operational",
            Impact.DEGRADED: "Some systems are degraded",
            Impact.PARTIAL: "Partial outage",
            Impact.MAJOR: "Major outage"}[impact]


class StatusBoard:
    def __init__(self, incidents: Incidents, severities: list[str], components: list[str],
                 title: str, days: int, cache_seconds: float = 10.0) -> None:
        self._incidents = incidents
        self._severities = [Severity(s) for s in severities]
        self._components = components
        self._title = title
        self._days = days
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, Board] | None = None
        self._lock = asyncio.Lock()

    async def board(self) -> Board:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self._cache_seconds:
                return self._cached[1]
            board = await self._build()
            self._cached = (now, board)
            return board

    async def incident(self, incident_id: str) -> PublicIncident | None:
        board = await self.board()
        return next((i for i in [*board.open, *board.past] if i.id == incident_id), None)

    async def _build(self) -> Board:
        since = datetime.now(UTC) - timedelta(days=self._days)
        severities = ", ".join(f"'{s}'" for s in self._severities)
        # This deployment's incidents only (several may share a namespace).
        query = (f"WorkflowType = 'IncidentWorkflow' AND StartTime > '{since:%Y-%m-%dT%H:%M:%SZ}' "
                 f"AND TaskQueue = '{self._incidents.task_queue}' "
                 f"AND {search.SEVERITY.name} IN ({severities})")
        found = [wf async for wf in self._incidents.client.list_workflows(query, limit=MAX_INCIDENTS)]
        incidents = [i for i in await asyncio.gather(*map(self._public, found)) if i is not None]
        incidents.sort(key=lambda i: i.started_at, reverse=True)
        open_ = [i for i in incidents if i.status != PublicState.RESOLVED]
        states = {name: Impact.OPERATIONAL for name in self._components}
        for name in sorted({i.component for i in incidents}):
            states.setdefault(name, Impact.OPERATIONAL)
        for inc in open_:
            if inc.impact.rank > states[inc.component].rank:
                states[inc.component] = inc.impact
        overall = max(states.values(), key=lambda s: s.rank, default=Impact.OPERATIONAL)
        return Board(
            title=self._title, generated_at=datetime.now(UTC), overall=overall,
            overall_label=_overall_label(overall), days=self._days,
            components=[Component(name=n, state=s, label=s.label) for n, s in sorted(states.items())],
            open=open_, past=[i for i in incidents if i.status == PublicState.RESOLVED])

    async def _public(self, wf: WorkflowExecution) -> PublicIncident | None:
        attrs = wf.typed_search_attributes
        service = attrs.get(search.SERVICE) or ""
        try:
            severity = Severity(attrs.get(search.SEVERITY) or "")
        except ValueError:
            return None
        if not service or severity not in self._severities:
            return None
        status = attrs.get(search.STATUS) or ""
        resolved = status == IncidentStatus.RESOLVED or wf.status != WorkflowExecutionStatus.RUNNING
        try:
            view = await self._incidents.view(wf.id)
        except (RPCError, IncidentNotFound):  # no worker answers: what visibility knows
            kinds = KINDS_OF_STATUS.get(IncidentStatus(status), ()) \
                if status in set(IncidentStatus) else ()
            known = [TimelineEntry(at=wf.start_time, kind=kind, detail="") for kind in kinds]
            return public_incident(wf.id, service, severity, wf.start_time, known, resolved,
                                   wf.close_time)
        started = view.timeline[0].at if view.timeline else wf.start_time
        closed = next((e.at for e in view.timeline if e.kind == "incident.resolved"), wf.close_time)
        resolved = resolved or view.status == IncidentStatus.RESOLVED
        return public_incident(wf.id, service, severity, started, view.timeline, resolved, closed)
