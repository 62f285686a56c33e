"""The alert group: which incident an alert belongs to.

One workflow per alert group (or correlation key). It maps the group to its *open*
incident — repeats join it — and once that incident has closed, the group firing
again opens a new, numbered incident that names the previous occurrence. Duplicates
(same alert, same status) never reach the incident one by one: they are counted and
passed on in batches. The group keeps its history small by continuing as new.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.support.versions import RELEASES, named

with workflow.unsafe.imports_passed_through():
    from activities.incident_numbers import NumberActivities
    from remediator.models.alert import AlertBatch, AlertStatus
    from workflows.alert_group_models import (
        DAY_SECONDS,
        GroupInput,
        IncidentClosed,
        IngestAnswer,
        IngestRequest,
        Occurrence,
        OpenIncident,
        Recurrence,
        flush_interval,
    )
    from workflows.incident import IncidentWorkflow
    from workflows.incident_models import IncidentInput
    from workflows.support import search, ui
    from workflows.support.options import CRITICAL_PATH, LOOKUP
    from workflows.support.seals import Inbox
    from workflows.support.shutdown import retried_on_next_worker
    from workflows.support.signals import ALERTS, DUPLICATES, INCIDENT_CLOSED

# Occurrences remembered, at most (recurrence links need the last one and a day's count).
REMEMBERED = 50


@workflow.defn
class AlertGroupWorkflow:
    """Routes a group's alerts to its open incident, opening numbered ones as needed."""

    @workflow.init
    def __init__(self, inp: GroupInput) -> None:
        self._inp = inp
        self._state = inp.state
        self._lock = asyncio.Lock()
        self._inbox = Inbox(lambda kind, detail: None)  # a group keeps no timeline: logged only
        self._ingests = 0

    @workflow.run
    async def run(self, inp: GroupInput) -> None:
        while not self._rollover_due():
            if self._state.duplicates:
                wait = await self._flush_duplicates()
                await workflow.sleep(timedelta(seconds=wait),
                                     summary=f"pass duplicates on again in {ui.span(wait)}")
            elif self._state.open or not workflow.all_handlers_finished():
                await workflow.wait_condition(self._something_to_do)
            elif not await self._remember():
                return
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._inp.model_copy(update={"state": self._state}))

    def _something_to_do(self) -> bool:
        idle = not self._state.open and workflow.all_handlers_finished()
        return bool(self._state.duplicates) or idle or self._rollover_due()

    def _rollover_due(self) -> bool:
        return (self._ingests >= self._inp.rollover_after
                or workflow.info().is_continue_as_new_suggested())

    async def _remember(self) -> bool:
        """Nothing open: keep the occurrences (recurrence links) for a while. False when
        the group may end: it never opened an incident, or its memory has run out."""
        last = max((o.resolved_at for o in self._state.closed), default=None)
        if last is None:
            return False
        remaining = self._inp.memory_seconds - (workflow.now() - last).total_seconds()
        if remaining <= 0:
            return False
        try:
            await workflow.wait_condition(
                lambda: (bool(self._state.open or self._state.duplicates)
                         or not workflow.all_handlers_finished() or self._rollover_due()),
                timeout=timedelta(seconds=remaining),
                timeout_summary=f"remember closed incidents for {ui.span(remaining)}")
        except TimeoutError:
            return False
        return True

    # --- alerts in ----------------------------------------------------------------------
    @workflow.update
    async def ingest(self, req: IngestRequest) -> IngestAnswer:
        """Alerts of this group: join the open incident, or open a new one."""
        async with self._lock:
            self._ingests += 1
            return await self._route(req)

    async def _route(self, req: IngestRequest) -> IngestAnswer:
        batch = req.batch
        target = self._incident_for(batch)
        if target is None:
            if all(a.status == AlertStatus.RESOLVED for a in batch.alerts):
                return IngestAnswer(incident_id=None, created=False,
                                    note="resolved alert for no open incident: ignored")
            opened = await self._open(batch, req.dry_run)
            return IngestAnswer(incident_id=opened.id, created=True)
        changed = [a for a in batch.alerts if target.alerts.get(a.fingerprint) != a.status]
        if not changed:
            self._state.duplicates[target.id] = (
                self._state.duplicates.get(target.id, 0) + len(batch.alerts))
            return IngestAnswer(incident_id=target.id, created=False)
        try:
            await workflow.get_external_workflow_handle(target.id).signal(
                ALERTS, AlertBatch(group_key=batch.group_key, alerts=changed))
        except FailureError:  # the incident ended without telling us (terminated, failed)
            self._closed(IncidentClosed(id=target.id, resolved_at=workflow.now()))
            return await self._route(req)
        target.alerts.update({a.fingerprint: a.status for a in changed})
        return IngestAnswer(incident_id=target.id, created=False)

    def _incident_for(self, batch: AlertBatch) -> OpenIncident | None:
        """The open incident that knows one of these alerts; else the newest one open
        (within the correlation window, if there is one)."""
        fingerprints = {a.fingerprint for a in batch.alerts}
        for incident in self._state.open:
            if fingerprints & incident.alerts.keys():
                return incident
        window = self._inp.window_seconds
        for incident in reversed(self._state.open):
            if window is None or (workflow.now() - incident.opened_at).total_seconds() <= window:
                return incident
        return None

    async def _open(self, batch: AlertBatch, dry_run: bool) -> OpenIncident:
        summary, details = ui.opening(batch.alerts)
        while True:
            incident_id = await retried_on_next_worker(workflow.execute_local_activity_method(
                NumberActivities.allocate_incident_number, workflow.now().year,
                start_to_close_timeout=LOOKUP["start_to_close_timeout"],
                retry_policy=LOOKUP["retry_policy"], summary="allocate the incident number"))
            try:
                await workflow.start_child_workflow(
                    IncidentWorkflow.run, IncidentInput(
                        incident_id=incident_id, dry_run=dry_run, alerts=batch.alerts,
                        group_key=batch.group_key, group=workflow.info().workflow_id,
                        recurrence=self._recurrence(), release=RELEASES[0]),
                    id=incident_id, parent_close_policy=ParentClosePolicy.ABANDON,
                    # A number is never used twice, even if its counter were reset.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=search.at_open(), memo=named(), priority=CRITICAL_PATH,
                    static_summary=summary, static_details=details)
                break
            except WorkflowAlreadyStartedError:
                continue
        opened = OpenIncident(id=incident_id, opened_at=workflow.now(),
                              alerts={a.fingerprint: a.status for a in batch.alerts})
        self._state.open.append(opened)
        return opened

    def _recurrence(self) -> Recurrence | None:
        if not self._state.closed:
            return None
        last = self._state.closed[-1]
        day_ago = workflow.now() - timedelta(seconds=DAY_SECONDS)
        recent = sum(1 for o in self._state.closed if o.opened_at >= day_ago)
        return Recurrence(previous_id=last.id, previous_resolved_at=last.resolved_at,
                          occurrences_24h=recent + 1)

    # --- incidents out ----------------------------------------------------------------
    @workflow.signal(name=INCIDENT_CLOSED)
    def incident_closed(self, sealed: RawValue) -> None:
        """From an incident of this group (sealed): it is resolved; the next alert opens a
        new one."""
        closed = self._inbox.open(sealed, INCIDENT_CLOSED, IncidentClosed,
                                  lambda sender, closed: sender == closed.id)
        if closed is not None:
            self._closed(closed)

    def _closed(self, closed: IncidentClosed) -> None:
        for incident in [i for i in self._state.open if i.id == closed.id]:
            self._state.open.remove(incident)
            self._state.closed.append(Occurrence(id=incident.id, opened_at=incident.opened_at,
                                                 resolved_at=closed.resolved_at))
        self._state.closed = self._state.closed[-REMEMBERED:]
        self._state.duplicates.pop(closed.id, None)
        self._state.flushes.pop(closed.id, None)

    async def _flush_duplicates(self) -> float:
        """Pass the counts on; returns how long to batch the next ones (the longest
        interval any of these incidents is due, so a long storm costs ever fewer events)."""
        counts, self._state.duplicates = self._state.duplicates, {}
        flushes = self._state.flushes
        for incident_id in counts:
            flushes[incident_id] = flushes.get(incident_id, 0) + 1
        wait = max(flush_interval(self._inp.flush_seconds, flushes[i]) for i in counts)
        for incident_id, count in counts.items():
            # An incident that has ended has no use for its duplicates.
            with contextlib.suppress(FailureError):
                await workflow.get_external_workflow_handle(incident_id).signal(DUPLICATES, count)
        return wait
