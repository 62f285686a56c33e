"""The guard's state is durable: a SIGKILLed worker loses no lock, and a worker killed
right after a block was recorded neither loses it nor counts the failure twice when the
activity is retried."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.guard import GuardLink
from remediator.models.guard import (
    ADMIT,
    GUARD_TASK_QUEUE,
    VERIFICATION_RECORDED,
    Admission,
    VerificationOutcome,
    VerificationRecord,
)
from remediator.settings import Settings
from starters.guard import Guard
from tests.support.guard import GuardTestRecorder, admit_request, intent
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker, workflow_runner

DEPLOY = "kubernetes:shop/api"


def _guarded(settings: Settings, **extra: object) -> Settings:
    return settings.model_copy(update={"sticky_timeout_seconds": 1.0, **extra})


def _link(client: Client, settings: Settings) -> GuardLink:
    return GuardLink(client, settings.guard_workflow_id, GUARD_TASK_QUEUE,
                     settings.guard_policy(), configure=False)


async def test_lock_survives_a_killed_worker(
    settings: Settings, client: Client, tmp_path: Path,
) -> None:
    settings = _guarded(settings)
    link = _link(client, settings)
    # The holder: an incident that keeps running (nobody serves its queue).
    holder = await client.start_workflow("StandInIncident", id=f"INC-2099-{uuid.uuid4().hex[:8]}",
                                         task_queue=f"nobody-{uuid.uuid4().hex[:8]}")
    try:
        with WorkerProcess(settings, tmp_path) as first:
            taken = await link.update(ADMIT, admit_request(
                holder.id, intent(DEPLOY), run_id=holder.result_run_id or ""), Admission)
            assert taken.granted
            first.kill()
        with WorkerProcess(settings, tmp_path):
            other = await link.update(ADMIT, admit_request("INC-2099-other", intent(DEPLOY)),
                                      Admission)
            assert [b.holder.incident_id for b in other.busy] == [holder.id]
            locks = (await Guard(client, settings).status()).locks
            assert [(lock.target, lock.holder.incident_id) for lock in locks] == [(DEPLOY, holder.id)]
            await holder.terminate("the holder ends without releasing")
            freed = await link.update(ADMIT, admit_request("INC-2099-other", intent(DEPLOY)),
                                      Admission)
            assert freed.granted
    finally:
        with contextlib.suppress(RPCError):
            await holder.terminate("test over")


async def test_a_guard_on_the_incidents_queue_moves_to_its_own_and_keeps_its_locks(
    settings: Settings, client: Client,
) -> None:
    """A guard started before guards had a queue of their own runs on the incidents' queue;
    the first worker that configures it moves it to its own queue (a fresh run that
    carries its state), so a burst of incidents can no longer starve it of task slots."""
    settings = _guarded(settings)
    started_before = GuardLink(client, settings.guard_workflow_id, settings.task_queue,
                               settings.guard_policy(), configure=False)
    holder = await client.start_workflow("StandInIncident", id=f"INC-2099-{uuid.uuid4().hex[:8]}",
                                         task_queue=f"nobody-{uuid.uuid4().hex[:8]}")
    guard = client.get_workflow_handle(settings.guard_workflow_id)
    try:
        async with running_worker(client, settings):
            taken = await started_before.update(ADMIT, admit_request(
                holder.id, intent(DEPLOY), run_id=holder.result_run_id or ""), Admission)
            assert taken.granted
            assert (await guard.describe()).task_queue == settings.task_queue
            configuring = GuardLink(client, settings.guard_workflow_id,
                                    GUARD_TASK_QUEUE, settings.guard_policy())

            async def moved() -> Admission | None:
                answer = await configuring.update(
                    ADMIT, admit_request("INC-2099-other", intent(DEPLOY)), Admission)
                on = (await guard.describe()).task_queue
                return answer if on == GUARD_TASK_QUEUE else None

            other = await eventually(moved, timeout=30, what="the guard on its own queue")
            assert [b.holder.incident_id for b in other.busy] == [holder.id]
    finally:
        with contextlib.suppress(RPCError):
            await holder.terminate("test over")


async def test_block_recorded_before_a_kill_is_kept_and_counted_once(
    settings: Settings, client: Client, tmp_path: Path,
) -> None:
    settings = _guarded(settings, guard_failures_to_block=2)
    link = _link(client, settings)
    failed = VerificationRecord(incident_id="INC-2099-a", runbook="rb", targets=[DEPLOY],
                                passed=False)
    queue = f"recorder-{uuid.uuid4().hex[:8]}"
    crashing = WorkerProcess(settings, tmp_path, crash_at="guard.verification_recorded.answered")
    async with Worker(client, task_queue=queue, workflows=[GuardTestRecorder],
                      workflow_runner=workflow_runner()):
        with crashing:
            await link.update(VERIFICATION_RECORDED, failed, VerificationOutcome)
            recorder = await client.start_workflow(
                GuardTestRecorder.run, args=[failed.model_copy(update={"incident_id": "INC-2099-b"}),
                                             settings.task_queue],
                id=f"recorder-{uuid.uuid4().hex[:8]}", task_queue=queue)
            # Died by its own SIGKILL right after the guard recorded the block.
            assert await asyncio.to_thread(crashing.wait_exit, 60) == -9
        with WorkerProcess(settings, tmp_path):
            outcome = await recorder.result()
            status = await Guard(client, settings).status()
    assert [b.target for b in outcome.blocked] == [DEPLOY]
    assert [b.target for b in status.blocks] == [DEPLOY]
    assert status.fleet_failures_in_window == 2  # the retried activity did not count again
