"""The guard under test: a worker serving it on a task queue of the test's own (with a
guard id of its own), and ``GuardTestIncident``, a stand-in incident that takes its
locks through the workflow-side helper (``workflows/guard/client.py``) and holds them
until told to finish."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from activities.guard import GuardActivities, GuardLink
    from remediator.models.guard import (
        STATUS,
        Admission,
        AdmitRequest,
        GuardPolicy,
        GuardReleased,
        ReleaseRequest,
        TargetIntent,
        VerificationOutcome,
        VerificationRecord,
    )
    from workflows.guard import client as guard
    from workflows.guard.models import GuardState, GuardStatus
    from workflows.guard.view import status_of
    from workflows.support.signals import GUARD_RELEASED


@workflow.defn(name="GuardTestIncident")
class GuardTestIncident:
    """Admits (waiting up to ``wait_seconds`` for busy targets), holds until ``finish``,
    then releases; the answer of its admission is its result."""

    def __init__(self) -> None:
        self._wait = guard.GuardWait()
        self._admission: Admission | None = None
        self._finished = False

    @workflow.run
    async def run(self, req: AdmitRequest, wait_seconds: float) -> Admission:
        run_id = workflow.info().first_execution_run_id
        req = req.model_copy(update={"incident_id": workflow.info().workflow_id,
                                     "run_id": run_id})
        self._admission = await guard.admit_waiting(req, self._wait, wait_seconds)
        await workflow.wait_condition(lambda: self._finished)
        await guard.release(ReleaseRequest(incident_id=req.incident_id, run_id=run_id))
        return self._admission

    @workflow.signal(name=GUARD_RELEASED)
    def guard_released(self, note: GuardReleased) -> None:
        self._wait.released(note)

    @workflow.signal
    def finish(self) -> None:
        self._finished = True

    @workflow.query
    def admission(self) -> Admission | None:
        return self._admission

    @workflow.query
    def releases(self) -> int:
        return self._wait.count


def intent(target: str, action: str = "kubernetes.rollout_undo", scope: str = "",
           cooldown: float | None = None) -> TargetIntent:
    return TargetIntent(action=action, target=target, scope=scope, cooldown_seconds=cooldown)


def admit_request(incident_id: str, *targets: TargetIntent, runbook: str = "rb",
                  labels: dict[str, str] | None = None, run_id: str = "") -> AdmitRequest:
    return AdmitRequest(incident_id=incident_id, run_id=run_id, runbook=runbook,
                        labels=labels or {}, targets=list(targets))


@dataclass
class GuardCase:
    client: Client
    link: GuardLink
    task_queue: str

    async def status(self) -> GuardStatus:
        state: GuardState = await self.client.get_workflow_handle(
            self.link.workflow_id).query(STATUS, result_type=GuardState)
        return status_of(state, datetime.now(UTC))

    async def incident(self, *targets: TargetIntent, wait_seconds: float = 0.0,
                       labels: dict[str, str] | None = None
                       ) -> WorkflowHandle[Any, Admission]:
        """A stand-in incident holding ``targets`` (or waiting for them)."""
        incident_id = f"INC-2099-{uuid.uuid4().int % 10**8:08d}"
        handle: WorkflowHandle[Any, Admission] = await self.client.start_workflow(
            GuardTestIncident.run, args=[admit_request(incident_id, *targets, labels=labels),
                                         wait_seconds],
            id=incident_id, task_queue=self.task_queue)
        return handle

    async def admission_of(self, handle: WorkflowHandle[Any, Admission]) -> Admission | None:
        found: Admission | None = await handle.query(GuardTestIncident.admission)
        return found


@asynccontextmanager
async def guard_worker(client: Client, policy: GuardPolicy) -> AsyncIterator[GuardCase]:
    """A worker serving a fresh guard (its own id and task queue) and stand-in incidents."""
    # Imported here: the workflow module is not needed by the sandboxed stand-in.
    from workers.main import workflow_runner
    from workflows.guard.workflow import GuardWorkflow

    queue = f"guard-{uuid.uuid4().hex[:8]}"
    link = GuardLink(client, f"guard-{uuid.uuid4().hex[:8]}", queue, policy)
    activities = GuardActivities(link)
    async with Worker(client, task_queue=queue, workflows=[GuardWorkflow, GuardTestIncident],
                      activities=[activities.guard_admit, activities.guard_step_started,
                                  activities.guard_step_finished,
                                  activities.guard_verification_recorded,
                                  activities.guard_recurred, activities.guard_release,
                                  activities.guard_stale_holders],
                      workflow_runner=workflow_runner()):
        yield GuardCase(client, link, queue)


@workflow.defn(name="GuardTestRecorder")
class GuardTestRecorder:
    """Records a verification through the guard activity on ``task_queue`` (a worker
    process there may be killed mid-activity); its result is the guard's answer."""

    @workflow.run
    async def run(self, rec: VerificationRecord, task_queue: str) -> VerificationOutcome:
        return await workflow.execute_activity_method(
            GuardActivities.guard_verification_recorded, rec, task_queue=task_queue,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=0.5)))
