"""The guard's one side effect for incidents: an Update to the namespace's guard
workflow (started on first use), and the liveness check of lock holders it asks for.

Each activity's update id is derived from the activity (its workflow, run and activity
id), so a retried activity gets the answer the first attempt's update recorded instead
of acting twice; the guard also counts failures and recurrences by update id, so a retry
that lands after the guard continued as new counts once too.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.support.crash_points import CrashPoints
from activities.support.worker_shutdown import unless_worker_shuts_down
from remediator.models.guard import (
    ADMIT,
    CONFIGURE,
    GUARD_WORKFLOW,
    RECURRED,
    RELEASE,
    STEP_FINISHED,
    STEP_STARTED,
    VERIFICATION_RECORDED,
    Admission,
    AdmitRequest,
    GuardPolicy,
    Holder,
    HolderLiveness,
    Recurrence,
    RecurrenceOutcome,
    Released,
    ReleaseRequest,
    StepFinished,
    StepRequest,
    StepSlot,
    VerificationOutcome,
    VerificationRecord,
)

log = structlog.get_logger()
R = TypeVar("R", bound=BaseModel)


# The failure type of the guard's own refusals (``workflows.guard.workflow.refuse``).
REFUSED = "GuardRefused"


class GuardRefused(ValueError):
    """The guard's validator refused the request (bad input); nothing changed."""


class GuardUnanswered(RuntimeError):
    """The server turned the update away before the guard saw it (retryable)."""


class GuardLink:
    """Updates to the guard workflow through a Temporal client, starting it if needed."""

    def __init__(self, client: Client, workflow_id: str, task_queue: str,
                 policy: GuardPolicy, configure: bool = True) -> None:
        self.client = client
        self.workflow_id = workflow_id
        self._task_queue = task_queue
        self._policy = policy.model_copy(update={"task_queue": task_queue})
        self._configured = not configure
        self._configuring = asyncio.Lock()

    def _start(self) -> WithStartWorkflowOperation[Any, Any]:
        return WithStartWorkflowOperation(
            GUARD_WORKFLOW, self._policy, id=self.workflow_id, task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)

    async def update(self, name: str, arg: BaseModel, result_type: type[R],
                     update_id: str | None = None, rpc_timeout: timedelta | None = None) -> R:
        """The guard's answer to update ``name``; ``GuardRefused`` when it rejects ``arg``."""
        await self._configure()
        try:
            result: R = await self.client.execute_update_with_start_workflow(
                name, arg, start_workflow_operation=self._start(), id=update_id,
                result_type=result_type, rpc_timeout=rpc_timeout)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSED:
                raise GuardRefused(cause.message) from None
            # The server's own rejections are transient (e.g. "rejected because it wasn't
            # processed by worker": the update came in as the guard started a fresh run):
            # asked again under the same update id, they reach the guard.
            raise GuardUnanswered(f"the guard did not take {name!r}: "
                                  f"{getattr(cause, 'message', None) or cause}") from None
        return result

    async def _configure(self) -> None:
        """Once per process: the guard takes this worker's policy (a restarted worker with
        changed settings changes the running guard's limits)."""
        if self._configured:
            return
        async with self._configuring:
            if not self._configured:
                await self.client.execute_update_with_start_workflow(
                    CONFIGURE, self._policy, start_workflow_operation=self._start(),
                    result_type=GuardPolicy)
                self._configured = True


def _update_id(operation: str) -> str:
    info = activity.info()
    return f"{operation}/{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"


class GuardActivities:
    def __init__(self, link: GuardLink, crash: CrashPoints | None = None) -> None:
        self._link = link
        self._crash = crash or CrashPoints(None)

    async def _ask(self, name: str, arg: BaseModel, result_type: type[R]) -> R:
        call = self._link.update(name, arg, result_type, _update_id(name))
        try:
            # A local call (recorded before release-2026-12-d) must not outlive the
            # worker; an activity is cancelled at shutdown and retried by the server.
            answer = await (unless_worker_shuts_down(call) if activity.info().is_local
                            else call)
        except GuardRefused as exc:
            raise ApplicationError(str(exc), type="GuardRefused", non_retryable=True) from None
        self._crash.reach(f"guard.{name}.answered")
        return answer

    @activity.defn
    async def guard_admit(self, req: AdmitRequest) -> Admission:
        """Shadow or live, and every target's lock or none (busy: who holds it)."""
        return await self._ask(ADMIT, req, Admission)

    @activity.defn
    async def guard_step_started(self, req: StepRequest) -> StepSlot:
        """A fleet slot for a mutating step, or why not (cap reached, paused)."""
        return await self._ask(STEP_STARTED, req, StepSlot)

    @activity.defn
    async def guard_step_finished(self, req: StepFinished) -> StepSlot:
        """Frees the step's slot; an applied step starts its cooldown."""
        return await self._ask(STEP_FINISHED, req, StepSlot)

    @activity.defn
    async def guard_verification_recorded(self, rec: VerificationRecord) -> VerificationOutcome:
        """Counts a verification; says which blocks it set and whether the breaker tripped."""
        return await self._ask(VERIFICATION_RECORDED, rec, VerificationOutcome)

    @activity.defn
    async def guard_recurred(self, rec: Recurrence) -> RecurrenceOutcome:
        """Counts a group firing again after a passing verification."""
        return await self._ask(RECURRED, rec, RecurrenceOutcome)

    @activity.defn
    async def guard_release(self, req: ReleaseRequest) -> Released:
        """Frees every lock and slot of the incident; waiters are signalled."""
        return await self._ask(RELEASE, req, Released)

    @activity.defn
    async def guard_stale_holders(self, holders: list[Holder]) -> HolderLiveness:
        """The holders whose incident no longer runs the run that took the lock."""
        stale = [h for h in holders if not await self._alive(h)]
        if stale:
            log.info("guard.stale_holders", holders=[h.incident_id for h in stale])
        return HolderLiveness(stale=stale)

    async def _alive(self, holder: Holder) -> bool:
        status, run_id, first_run_id = await self._describe(holder.incident_id)
        if status != WorkflowExecutionStatus.RUNNING:
            return False
        if not holder.run_id or holder.run_id in (run_id, first_run_id):
            return True
        # A run in the middle of the chain: alive if it continued as new (same incident);
        # a reset or terminated run is not.
        earlier, _, _ = await self._describe(holder.incident_id, holder.run_id)
        return earlier == WorkflowExecutionStatus.CONTINUED_AS_NEW

    async def _describe(self, workflow_id: str, run_id: str | None = None
                        ) -> tuple[WorkflowExecutionStatus | None, str, str]:
        try:
            found = await self._link.client.get_workflow_handle(workflow_id,
                                                                run_id=run_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None, "", ""
            raise
        info = found.raw_description.workflow_execution_info
        return found.status, found.run_id, info.first_run_id
