"""Heartbeats for every activity that has a heartbeat timeout, while it runs.

A worker killed in the middle of an activity is noticed by the Temporal server when the
activity's heartbeat timeout passes (seconds) instead of its start-to-close timeout
(minutes): the retry runs on a live worker right away. The heartbeat carries no
progress; activities that wait on something (a rollout) heartbeat their own details too.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.support.heartbeats import does_heartbeat_itself


class _Pulse(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout or does_heartbeat_itself(input.fn):
            return await self.next.execute_activity(input)
        pulse = asyncio.create_task(_beat(timeout.total_seconds() / 3))
        try:
            return await self.next.execute_activity(input)
        finally:
            pulse.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pulse


async def _beat(every: float) -> None:
    while True:
        await asyncio.sleep(every)
        activity.heartbeat()


class HeartbeatInterceptor(Interceptor):
    """Worker interceptor: keeps activities with a heartbeat timeout visibly alive."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Pulse(next)
