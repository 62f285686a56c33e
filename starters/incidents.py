"""Turn alert batches into incident starts/signals, and read incidents back.

No business rules here: which incident an alert joins is the id derivation;
everything else happens in the workflow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from starters.alert_formats import incident_id_for
from workflows import search
from workflows.approval_models import ApprovalAnswer, ApprovalRequest, PendingApproval
from workflows.comms_models import Acknowledgement, PostmortemEdit, RoleAssignment
from workflows.incident import IncidentWorkflow
from workflows.models import AlertBatch, AlertStatus, IncidentStatus, Phase
from workflows.options import CRITICAL_PATH
from workflows.phase_models import IncidentInput, IncidentView
from workflows.postmortem import PostmortemWorkflow
from workflows.verify_models import Resolution

QUERY_TIMEOUT = timedelta(seconds=5)


@dataclass(frozen=True)
class Opened:
    id: str
    created: bool
    note: str | None = None


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


class DecisionRefused(ValueError):
    """The incident's validator refused an approval or rejection; nothing changed."""


class Incidents:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def open_or_join(self, batch: AlertBatch, dry_run: bool = False) -> Opened:
        """Signal-with-start: the first alert of a group opens the incident, later ones join.

        A batch with only resolved alerts never opens an incident: it is delivered
        to an open one or dropped with a note. ``dry_run`` applies to an incident this
        batch opens (one already open keeps its mode).
        """
        incident_id = incident_id_for(batch.alerts[0].source, batch.group_key)
        if all(a.status == AlertStatus.RESOLVED for a in batch.alerts):
            return await self._deliver_resolved(incident_id, batch)
        handle = await self._client.start_workflow(
            IncidentWorkflow.run, IncidentInput(incident_id=incident_id, dry_run=dry_run),
            id=incident_id, task_queue=self._task_queue,
            start_signal="alerts", start_signal_args=[batch],
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes_at_open(),
            priority=CRITICAL_PATH,
        )
        response = getattr(handle, "_start_workflow_response", None)
        return Opened(incident_id, bool(getattr(response, "started", False)))

    async def _deliver_resolved(self, incident_id: str, batch: AlertBatch) -> Opened:
        handle = self._client.get_workflow_handle(incident_id)
        try:
            await handle.signal(IncidentWorkflow.alerts, batch)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return Opened(incident_id, False, "resolved alert for no open incident: ignored")
        return Opened(incident_id, False)

    def handle(self, incident_id: str) -> WorkflowHandle[IncidentWorkflow, IncidentView]:
        return self._client.get_workflow_handle_for(IncidentWorkflow.run, incident_id)

    async def view(self, incident_id: str) -> IncidentView:
        """The incident's state from its ``status`` query; IncidentNotFound if none."""
        if not incident_id.startswith("inc-"):
            raise IncidentNotFound(incident_id)
        try:
            return await self.handle(incident_id).query(
                IncidentWorkflow.status, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise IncidentNotFound(incident_id) from None
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
            return await self.handle(incident_id).execute_update(
                IncidentWorkflow.decide, request, rpc_timeout=QUERY_TIMEOUT * 2)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            raise DecisionRefused(getattr(cause, "message", None) or str(cause)) from None

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

    async def _signal(self, workflow_id: str, signal: Any, arg: object) -> None:
        try:
            await self._client.get_workflow_handle(workflow_id).signal(signal, arg)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise IncidentNotFound(workflow_id) from None
            raise

    async def list(self, open_only: bool = True, limit: int = 100) -> list[Summary]:
        query = "WorkflowType = 'IncidentWorkflow'"
        if open_only:
            query += " AND ExecutionStatus = 'Running'"
        out: list[Summary] = []
        async for wf in self._client.list_workflows(query, limit=limit):
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


def search_attributes_at_open() -> TypedSearchAttributes:
    return TypedSearchAttributes([
        SearchAttributePair(search.PHASE, Phase.DETECT.value),
        SearchAttributePair(search.STATUS, IncidentStatus.OPEN.value),
    ])


def _status_of(status: WorkflowExecutionStatus | None) -> str:
    if status == WorkflowExecutionStatus.COMPLETED:
        return "resolved"
    return "open" if status == WorkflowExecutionStatus.RUNNING else "failed"
