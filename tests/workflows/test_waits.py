"""``waits.until`` keeps its deadline even when the SDK's wait times out early."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.waiting import WaitsTestWorkflow
from workers.main import workflow_runner
from workflows.support import waits


class _EarlyOnce:
    """``temporalio.workflow`` as ``waits`` sees it, whose first timed wait times out at
    once — what the SDK was seen to do under load."""

    def __init__(self) -> None:
        self.early = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(workflow, name)

    async def wait_condition(self, fn: Any, *, timeout: float | None = None,
                             timeout_summary: str | None = None) -> None:
        if timeout is not None and not self.early and not workflow.unsafe.is_replaying():
            self.early += 1
            await workflow.sleep(timedelta(milliseconds=100))
            raise TimeoutError
        await workflow.wait_condition(fn, timeout=timeout, timeout_summary=timeout_summary)


@pytest.fixture
def early(monkeypatch: pytest.MonkeyPatch) -> Iterator[_EarlyOnce]:
    shim = _EarlyOnce()
    monkeypatch.setattr(waits, "workflow", shim)
    yield shim


async def _run(client: Client, seconds: float, signal: bool = False) -> tuple[bool, float]:
    queue = f"waits-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[WaitsTestWorkflow],
                      workflow_runner=workflow_runner()):
        handle = await client.start_workflow(WaitsTestWorkflow.run, seconds,
                                             id=f"waits-{uuid.uuid4().hex[:8]}", task_queue=queue)
        if signal:
            await handle.signal(WaitsTestWorkflow.done)
        answer, waited = await handle.result()
    return answer, waited


async def test_an_early_timeout_waits_out_the_rest_of_the_deadline(
        fast_client: Client, early: _EarlyOnce) -> None:
    answer, waited = await _run(fast_client, 1.5)
    assert early.early == 1
    assert answer is False and waited >= 1.5


async def test_the_condition_still_ends_the_wait(fast_client: Client) -> None:
    answer, waited = await _run(fast_client, 30.0, signal=True)
    assert answer is True and waited < 30.0
