"""The operator's side of the guard: maintenance windows, the pause switch and the
rails' status, as Updates and a query to the guard workflow (started on first use).
No rules here: the guard's validators decide what is refused, and say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from activities.guard import GuardLink, GuardRefused, GuardUnanswered
from remediator.models.guard import (
    GUARD_TASK_QUEUE,
    MAINTENANCE_ADD,
    MAINTENANCE_END,
    PAUSE,
    RESUME,
    STATUS,
)
from remediator.settings import Settings
from workflows.guard.models import (
    GuardState,
    GuardStatus,
    MaintenanceEnd,
    MaintenanceRequest,
    MaintenanceWindow,
    PauseAnswer,
    PauseRequest,
    PauseState,
    ResumeRequest,
)
from workflows.guard.view import status_of

__all__ = ["Guard", "GuardRefused", "GuardUnavailable"]

ANSWER_TIMEOUT = timedelta(seconds=10)
R = TypeVar("R", bound=BaseModel)


class GuardUnavailable(RuntimeError):
    """No worker answered for the guard in time; nothing is known to have changed."""


class Guard:
    def __init__(self, client: Client, settings: Settings) -> None:
        # configure=False: only workers set the guard's policy (a CLI's environment may
        # not hold the deployment's settings); this one is used if the guard starts here.
        self._link = GuardLink(client, settings.guard_workflow_id,
                               GUARD_TASK_QUEUE,
                               settings.guard_policy(), configure=False)
        self._policy = settings.guard_policy()

    async def _update(self, name: str, arg: BaseModel, result_type: type[R]) -> R:
        try:
            return await self._link.update(name, arg, result_type, rpc_timeout=ANSWER_TIMEOUT)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise GuardUnavailable(f"the guard did not answer within {ANSWER_TIMEOUT.seconds} s "
                                   "(is a worker running?)") from None
        except GuardUnanswered as exc:
            raise GuardUnavailable(f"{exc}; try again") from None

    async def state(self, timeout: timedelta = ANSWER_TIMEOUT) -> GuardState:
        """The guard's state; a guard never started has nothing held, paused or open."""
        handle = self._link.client.get_workflow_handle(self._link.workflow_id)
        try:
            state: GuardState = await handle.query(STATUS, result_type=GuardState,
                                                   rpc_timeout=timeout)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return GuardState(policy=self._policy)
            if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
                raise GuardUnavailable("the guard did not answer (is a worker running?)") from None
            raise
        return state

    async def status(self, timeout: timedelta = ANSWER_TIMEOUT) -> GuardStatus:
        return status_of(await self.state(timeout), datetime.now(UTC))

    async def paused(self, timeout: timedelta = timedelta(seconds=2)) -> PauseState | None:
        """Who paused automation and why, or None (also when the guard cannot answer:
        the caller reports what it knows without waiting on a missing worker)."""
        try:
            return (await self.state(timeout)).paused
        except (GuardUnavailable, RPCError):
            return None

    async def add_window(self, req: MaintenanceRequest) -> MaintenanceWindow:
        return await self._update(MAINTENANCE_ADD, req, MaintenanceWindow)

    async def end_window(self, window_id: str, by: str) -> MaintenanceWindow:
        return await self._update(MAINTENANCE_END, MaintenanceEnd(id=window_id, by=by),
                                  MaintenanceWindow)

    async def pause(self, by: str, reason: str) -> PauseAnswer:
        return await self._update(PAUSE, PauseRequest(by=by, reason=reason), PauseAnswer)

    async def resume(self, by: str) -> PauseAnswer:
        return await self._update(RESUME, ResumeRequest(by=by), PauseAnswer)
