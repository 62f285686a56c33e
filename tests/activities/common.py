"""Requests, activity runs and the crash-then-recover run shared by these tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from remediator.models.mitigation import (
    MitigationRequest,
    MitigationStep,
    RiskLevel,
    StepOutcome,
    UndoRequest,
)
from remediator.models.policy import Timings
from remediator.settings import Settings
from remediator.severity import Severity
from tests.support.worker_proc import WorkerProcess
from workflows.mitigate import MitigateInput, MitigateWorkflow


def new_case() -> str:
    return uuid.uuid4().hex[:8]


def apply_req(case: str, step: str, params: dict[str, Any], dry_run: bool = False
              ) -> MitigationRequest:
    return MitigationRequest(incident_id=f"inc-{case}", step_id=step, params=params,
                             dry_run=dry_run)


def undo_req(case: str, step: str, undo: dict[str, Any] | None) -> UndoRequest:
    assert undo is not None
    return UndoRequest(incident_id=f"inc-{case}", step_id=step, undo=undo)


async def run(fn: Callable[..., Awaitable[Any]], arg: Any) -> Any:
    """Run one activity method in Temporal's activity environment (real code, real servers)."""
    return await ActivityEnvironment().run(fn, arg)


async def refused(fn: Callable[..., Awaitable[Any]], arg: Any, kind: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        await run(fn, arg)
    assert info.value.type == kind, info.value
    assert info.value.non_retryable
    return info.value


async def mitigate_across_crash(
    client: Client, settings: Settings, tmp_path: Path, crash_at: str, case: str,
    action: str, params: dict[str, Any], meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> StepOutcome:
    """A one-step MitigateWorkflow whose worker SIGKILLs itself at ``crash_at``; then
    ``meanwhile`` runs with no worker alive, and a fresh worker finishes the step."""
    # Low risk: no approval gate, so the step runs straight away.
    step = MitigationStep(id="step", action=action, params=params, risk=RiskLevel.LOW)
    inp = MitigateInput(incident_id=f"inc-{case}", severity=Severity.P2, steps=[step],
                        timings=Timings(mitigation_timeout_seconds=settings.mitigation_timeout_seconds))
    crashing = WorkerProcess(settings, tmp_path, crash_at=crash_at)
    with crashing:
        handle = await client.start_workflow(MitigateWorkflow.run, inp, id=f"mitigate-{case}",
                                             task_queue=settings.task_queue)
        assert await asyncio.to_thread(crashing.wait_exit, 60) == -9  # killed itself there
    if meanwhile is not None:
        await meanwhile()
    with WorkerProcess(settings, tmp_path):
        result = await asyncio.wait_for(handle.result(), 90)
    [outcome] = result.outcomes
    return outcome
