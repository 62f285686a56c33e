"""Bind incident, phase, workflow and activity ids to every structlog line an activity logs."""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        incident_id, _, phase = (info.workflow_id or "").partition("/")
        with structlog.contextvars.bound_contextvars(
            incident_id=incident_id, phase=phase or "incident", workflow_id=info.workflow_id,
            workflow_type=info.workflow_type, activity_id=info.activity_id,
            activity_type=info.activity_type, attempt=info.attempt,
        ):
            return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    """Worker interceptor: structured-log context for activities (workflows log via replay-safe
    ``workflow.logger``, which Temporal already tags with the workflow's ids)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)
