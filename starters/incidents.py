"""Turn alert batches into incident starts/signals, and read incidents back.

No business rules here: which incident an alert joins is the id derivation;
everything else happens in the workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.incident_numbers import allocate_incident_id
from remediator.models.alert import AlertBatch
from remediator.models.approval import ApprovalRequest
from remediator.models.comms import Acknowledgement, RoleAssignment
from remediator.models.incident import IncidentStatus
from remediator.models.incident_number import is_incident_id
from remediator.runbooks.correlation import CorrelationRules, load_rules
from remediator.settings import Settings
from starters.alerts.common import incident_id_for
from starters.incident_history import view_from_history
from starters.routes import Route, route_of
from starters.shield import StormShield
from workflows.alert_group import AlertGroupWorkflow
from workflows.alert_group_models import GroupInput, IngestRequest
from workflows.approvals.models import ApprovalAnswer, PendingApproval
from workflows.incident import IncidentWorkflow
from workflows.incident_models import (
    Declaration,
    IncidentInput,
    IncidentView,
    Resolution,
    SeverityChange,
)
from workflows.postmortem import PostmortemEdit, PostmortemWorkflow
from workflows.support import search, ui
from workflows.support.options import CRITICAL_PATH
from workflows.support.signals import DUPLICATES

QUERY_TIMEOUT = timedelta(seconds=5)
# A query nobody answered: the server's deadline, or the client's own ("Timeout expired").
NO_ANSWER = frozenset({RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED})
# The alert's group answers once a worker has routed it (the answer names the incident).
ROUTE_TIMEOUT = timedelta(seconds=15)
BUSY_RETRIES = 6


@dataclass(frozen=True)
class Opened:
    id: str
    created: bool
    note: str | None = None
    # Answered at the edge as an exact duplicate (counted, not forwarded).
    duplicate: bool = False


@dataclass(frozen=True)
class Summary:
    id: str
    status: str
    phase: str
    severity: str
    service: str
    started: str


class IncidentNotFound(LookupError):
    pass


class NotRouted(RuntimeError):
    """No worker routed the alert in time; nothing was acknowledged (the sender retries,
    and a retry of an alert that did get through meanwhile is a duplicate)."""


async def _read_start_outcome(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """A failed update-with-start also fails its start operation's handle, which nobody
    awaits: read it here, or asyncio logs the failure a second time, as a "Future
    exception was never retrieved" traceback, whenever it collects the operation. The
    SDK settles the handle before the call raises; the timeout only bounds a surprise."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(start.workflow_handle(), timeout=1.0)


class DecisionRefused(ValueError):
    """The incident's validator refused an approval or rejection; nothing changed."""


class Incidents:
    def __init__(self, client: Client, task_queue: str, rules: CorrelationRules | None = None,
                 group_options: dict[str, float] | None = None,
                 shield: StormShield | None = None,
                 route_timeout: timedelta = ROUTE_TIMEOUT) -> None:
        self._client = client
        self._route_timeout = route_timeout
        self._task_queue = task_queue
        self._rules = rules
        self._group_options = group_options or {}
        self._shield = shield
        self._route_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    @property
    def task_queue(self) -> str:
        """Where this deployment's incidents run (visibility lists are scoped to it)."""
        return self._task_queue

    @property
    def client(self) -> Client:
        return self._client

    @classmethod
    def from_settings(cls, client: Client, settings: Settings,
                      shield: StormShield | None = None) -> Incidents:
        """With the correlation rules beside the runbooks (an invalid file raises)."""
        return cls(client, settings.task_queue, load_rules(settings.runbook_dir), {
            "memory_seconds": settings.group_memory_seconds,
            "flush_seconds": settings.duplicate_flush_seconds}, shield)

    async def open_or_join(self, batch: AlertBatch, dry_run: bool = False) -> Opened:
        """The group's open incident takes the alerts; a group with none opens a numbered
        one (a batch of only resolved alerts never does). ``dry_run`` applies to an
        incident this batch opens (one already open keeps its mode)."""
        route = route_of(batch, self._rules)
        known = await self._admitted(route, batch)
        if known is not None:
            return known
        # One alert per group at a time from this process goes on to Temporal (it admits
        # only a few updates in flight per workflow); the others wait, then usually find
        # what the first one taught the shield and stay at the edge.
        async with self._route_locks.setdefault(route.workflow_id, asyncio.Lock()):
            known = await self._admitted(route, batch)
            if known is not None:
                return known
            opened = (await self._deliver_to_legacy(batch)
                      or await self._route(route, batch, dry_run))
            if self._shield is not None and opened.id:
                await self._shield.remember(route.workflow_id, batch, opened.id)
            return opened

    async def _admitted(self, route: Route, batch: AlertBatch) -> Opened | None:
        if self._shield is None:
            return None
        known = await self._shield.admit(route.workflow_id, batch)
        return None if known is None else Opened(known, False, duplicate=True)

    async def _route(self, route: Route, batch: AlertBatch, dry_run: bool) -> Opened:
        """The group's update; other replicas' updates in flight are waited out briefly."""
        for attempt in range(BUSY_RETRIES):
            try:
                return await self._route_once(route, batch, dry_run)
            except RPCError as exc:
                if exc.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                    raise
                await asyncio.sleep(random.uniform(0.05, 0.1) * 2**attempt)
        raise NotRouted("the alert group is busy (too many alerts in flight)")

    async def _route_once(self, route: Route, batch: AlertBatch, dry_run: bool) -> Opened:
        start = WithStartWorkflowOperation(
            AlertGroupWorkflow.run,
            GroupInput(route=route.key, **self._group_options, **route.options),
            id=route.workflow_id, task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, priority=CRITICAL_PATH,
            static_summary=ui.line(f"alert group {route.key}: opens and feeds its incidents"))
        try:
            answer = await self._client.execute_update_with_start_workflow(
                AlertGroupWorkflow.ingest, IngestRequest(batch=batch, dry_run=dry_run),
                start_workflow_operation=start, rpc_timeout=self._route_timeout)
        except Exception as exc:
            await _read_start_outcome(start)
            if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
                raise NotRouted(f"no worker routed the alert within "
                                f"{self._route_timeout.total_seconds():g} s "
                                "(is a worker running?)") from None
            raise
        return Opened(answer.incident_id or "", answer.created, answer.note)

    async def _deliver_to_legacy(self, batch: AlertBatch) -> Opened | None:
        """A group whose incident was opened before numbering (id derived from the group)
        keeps it until it closes."""
        legacy_id = incident_id_for(batch.alerts[0].source, batch.group_key)
        try:
            await self._client.get_workflow_handle(legacy_id).signal(IncidentWorkflow.alerts, batch)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return None
        return Opened(legacy_id, False)

    async def signal_duplicates(self, incident_id: str, count: int) -> bool:
        """Counted duplicates to their incident; False if it has ended (they are dropped)."""
        try:
            await self._client.get_workflow_handle(incident_id).signal(DUPLICATES, count)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return True

    async def declare(self, declaration: Declaration) -> Opened:
        """A human opens an incident: a new number, no alert group."""
        incident_id = await allocate_incident_id(self._client, datetime.now(UTC).year)
        summary, details = ui.declared(declaration.title, declaration.service,
                                       declaration.severity, declaration.by, declaration.runbook)
        await self._client.start_workflow(
            IncidentWorkflow.run, IncidentInput(incident_id=incident_id, declared=declaration),
            id=incident_id, task_queue=self._task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search.at_open(), priority=CRITICAL_PATH,
            static_summary=summary, static_details=details)
        return Opened(incident_id, True)

    def handle(self, incident_id: str) -> WorkflowHandle[IncidentWorkflow, IncidentView]:
        return self._client.get_workflow_handle_for(IncidentWorkflow.run, incident_id)

    async def view(self, incident_id: str) -> IncidentView:
        """The incident's state: a running one's ``status`` query, a closed one's result;
        from its history when it ended without one (failed, terminated) or no worker
        answers. IncidentNotFound if there is no such incident."""
        if not is_incident_id(incident_id):
            raise IncidentNotFound(incident_id)
        handle = self.handle(incident_id)
        try:
            described = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise IncidentNotFound(incident_id) from None
            raise
        if described.status == WorkflowExecutionStatus.COMPLETED:
            with contextlib.suppress(Exception):  # a result this version cannot read
                return await handle.result(rpc_timeout=QUERY_TIMEOUT)
        elif described.status != WorkflowExecutionStatus.RUNNING:
            return await view_from_history(self._client, handle, described)
        try:
            return await handle.query(IncidentWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError):
            return await view_from_history(self._client, handle, described)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise IncidentNotFound(incident_id) from None
            if exc.status in NO_ANSWER:  # no worker answered in time
                return await view_from_history(self._client, handle, described)
            raise

    async def pending(self, incident_id: str) -> list[PendingApproval]:
        try:
            return await self.handle(incident_id).query(
                IncidentWorkflow.pending_approvals, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise IncidentNotFound(incident_id) from None
            raise

    async def pending_everywhere(self) -> list[tuple[str, PendingApproval]]:
        """Every step waiting for approval, across open incidents."""
        query = (f"WorkflowType = 'IncidentWorkflow' AND ExecutionStatus = 'Running' "
                 f"AND {search.STATUS.name} = '{IncidentStatus.AWAITING_APPROVAL}'")
        ids = [wf.id async for wf in self._client.list_workflows(query)]

        async def waiting(incident_id: str) -> list[tuple[str, PendingApproval]]:
            try:
                return [(incident_id, p) for p in await self.pending(incident_id)]
            except (RPCError, IncidentNotFound):
                return []  # no worker answers for it right now; list the others

        return [entry for found in await asyncio.gather(*map(waiting, ids)) for entry in found]

    async def decide(self, incident_id: str, request: ApprovalRequest) -> ApprovalAnswer:
        """Approve or reject through the validated update; DecisionRefused says why not."""
        await self.view(incident_id)  # IncidentNotFound before anything else
        try:
            answer = await self.handle(incident_id).execute_update(
                IncidentWorkflow.decide, request, rpc_timeout=QUERY_TIMEOUT * 2)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            raise DecisionRefused(getattr(cause, "message", None) or str(cause)) from None
        if not answer.accepted:  # refused and recorded by the incident
            raise DecisionRefused(answer.detail)
        return answer

    async def postmortem(self, incident_id: str) -> str:
        """The current review document (it outlives the incident workflow)."""
        handle = self._client.get_workflow_handle(f"{incident_id}/postmortem")
        try:
            text: str = await handle.query(PostmortemWorkflow.document, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise IncidentNotFound(incident_id) from None
            raise
        return text

    async def edit_postmortem(self, incident_id: str, edit: PostmortemEdit) -> None:
        await self._signal(f"{incident_id}/postmortem", PostmortemWorkflow.edit, edit)

    async def acknowledge(self, incident_id: str, ack: Acknowledgement) -> None:
        await self._signal(incident_id, IncidentWorkflow.acknowledge, ack)

    async def assign(self, incident_id: str, assignment: RoleAssignment) -> None:
        await self._signal(incident_id, IncidentWorkflow.assign_role, assignment)

    async def resolve(self, incident_id: str, resolution: Resolution) -> None:
        await self._signal(incident_id, IncidentWorkflow.resolve, resolution)

    async def set_severity(self, incident_id: str, change: SeverityChange) -> None:
        await self._signal(incident_id, IncidentWorkflow.set_severity, change)

    async def _signal(self, workflow_id: str, signal: Any, arg: object) -> None:
        try:
            await self._client.get_workflow_handle(workflow_id).signal(signal, arg)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise IncidentNotFound(workflow_id) from None
            raise

    async def list(self, open_only: bool = True, limit: int | None = None) -> list[Summary]:
        """Incidents from visibility, newest first; every one (the client pages through
        them) unless ``limit`` caps the list."""
        out: list[Summary] = []
        async for wf in self._client.list_workflows(_listing(open_only), limit=limit):
            attrs = wf.typed_search_attributes
            out.append(Summary(
                id=wf.id,
                status=attrs.get(search.STATUS) or _status_of(wf.status),
                phase=attrs.get(search.PHASE) or "",
                severity=attrs.get(search.SEVERITY) or "",
                service=attrs.get(search.SERVICE) or "",
                started=wf.start_time.isoformat(),
            ))
        return out

    async def count(self, open_only: bool = True) -> int:
        """How many incidents ``list`` would return uncapped."""
        return (await self._client.count_workflows(_listing(open_only))).count


def _listing(open_only: bool) -> str:
    query = "WorkflowType = 'IncidentWorkflow'"
    return query + " AND ExecutionStatus = 'Running'" if open_only else query


def _status_of(status: WorkflowExecutionStatus | None) -> str:
    if status == WorkflowExecutionStatus.COMPLETED:
        return "resolved"
    return "open" if status == WorkflowExecutionStatus.RUNNING else "failed"
