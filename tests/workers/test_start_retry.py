"""A worker whose first start loses Temporal (the SDK's namespace check answered
UNAVAILABLE) waits for Temporal again and starts, instead of ending the process."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.runtime import Runtime

import workers.main
from remediator.devstack.servers import TemporalDevServer, free_port
from remediator.settings import Settings
from remediator.temporal import connect
from tests.support.polling import eventually


async def test_temporal_lost_while_the_worker_starts_sends_it_back_to_waiting(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    temporal = TemporalDevServer(tmp_path / "temporal", port=free_port(), ui_port=None)
    own = settings.model_copy(update={"task_queue": f"start-{uuid.uuid4().hex[:8]}",
                                      "temporal_address": temporal.address,
                                      "connect_retry_max_seconds": 0.5})
    temporal.start()
    asked: list[int] = []
    clients: list[Client] = []
    wait = workers.main.wait_for_dependencies

    async def dependencies(settings: Settings, runtime: Runtime | None) -> Client:
        asked.append(1)
        if len(asked) == 1:  # Temporal answered, then stopped before the SDK's check
            clients.append(await connect(settings))
            temporal.stop()
        else:
            clients.append(await wait(settings, runtime))
        return clients[-1]

    monkeypatch.setattr(workers.main, "wait_for_dependencies", dependencies)
    running = asyncio.create_task(workers.main.run_worker(own))

    async def polled() -> bool:
        if running.done():  # ended instead of waiting: its error is raised below
            return True
        client = clients[-1]
        answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=own.task_queue)))
        return bool(answer.pollers)

    try:
        # The second wait starts only once the SDK's check has failed.
        await eventually(lambda: _ready(len(asked) > 1 or running.done()), timeout=90,
                         what="the worker waiting for Temporal again")
        assert not running.done() or running.result()
        temporal.start()
        await eventually(polled, timeout=90, what="the worker polling after its retry")
        assert not running.done() or running.result()
        assert len(asked) == 2 and len(clients) == 2
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        temporal.stop()


async def _ready(value: bool) -> bool:
    return value


def test_only_an_unreachable_temporal_is_waited_for() -> None:
    unavailable = RuntimeError(
        "Worker validation failed: Namespace default was not found or otherwise could not "
        "be described: Status { code: Unavailable, message: \"tcp connect error\" }")
    wrong_namespace = RuntimeError(
        "Worker validation failed: Namespace nope was not found or otherwise could not be "
        "described: Status { code: NotFound, message: \"Namespace nope is not found.\" }")
    assert workers.main.temporal_lost_at_start(unavailable)
    assert not workers.main.temporal_lost_at_start(wrong_namespace)
    assert not workers.main.temporal_lost_at_start(RuntimeError("something else"))
