"""Bare Temporal for comparison: one workflow running as many no-op activities as an
incident does, on its own worker process (``python bench/bare.py ADDRESS QUEUE``)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

# An incident with a one-step runbook and a zero-length window runs: find_runbook,
# incident_policy, post_update, set_flag, check_health, store_postmortem.
ACTIVITIES = 6


@activity.defn
async def noop(i: int) -> int:
    return i


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        for i in range(n):
            await workflow.execute_activity(noop, i, start_to_close_timeout=timedelta(seconds=30))
        return n


async def main(address: str, queue: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop]):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
