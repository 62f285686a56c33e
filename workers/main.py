"""The worker process: which workflows and activities run on which task queue.

Clients (Redis, HTTP) are created once here and injected into the activity
classes; activities hold no module-level state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import redis.asyncio as aioredis
import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.feature_flags import FlagActivities, RedisFlagStore
from activities.health import HealthActivities
from activities.notify import NotifyActivities
from activities.postmortem_store import PostmortemActivities
from activities.runbooks import RunbookActivities
from remediator.chaos import CrashPoints
from remediator.settings import Settings
from remediator.temporal import connect
from workers.search_attributes import ensure_search_attributes
from workflows.approval_models import ApprovalPolicy
from workflows.detect import DetectWorkflow
from workflows.incident import IncidentWorkflow
from workflows.mitigate import MitigateWorkflow
from workflows.models import Severity
from workflows.phase_models import IncidentPolicy, Timings
from workflows.postmortem import PostmortemWorkflow
from workflows.triage import TriageWorkflow
from workflows.verify import VerifyWorkflow

log = structlog.get_logger()

# Libraries that activity modules import; workflows only reference their contracts.
PASSTHROUGH = ("activities", "remediator", "httpx", "redis", "structlog", "yaml", "kubernetes",
               "boto3", "botocore", "opentelemetry", "fastapi", "starlette")

WORKFLOWS = [
    IncidentWorkflow, DetectWorkflow, TriageWorkflow, MitigateWorkflow, VerifyWorkflow,
    PostmortemWorkflow,
]


def approvals_from(settings: Settings) -> ApprovalPolicy:
    return ApprovalPolicy(
        approvers=settings.approvers, groups=settings.approver_groups,
        deadline_seconds={
            Severity.P0: settings.approval_deadline_p0_seconds,
            Severity.P1: settings.approval_deadline_p1_seconds,
            Severity.P2: settings.approval_deadline_p2_seconds,
            Severity.P3: settings.approval_deadline_p3_seconds,
        },
    )


def policy_from(settings: Settings) -> IncidentPolicy:
    return IncidentPolicy(approvals=approvals_from(settings), timings=Timings(
        verify_interval_seconds=settings.verify_interval_seconds,
        verify_window_p0_p1_seconds=settings.verify_window_p0_p1_seconds,
        verify_window_p2_p3_seconds=settings.verify_window_p2_p3_seconds,
        mitigation_timeout_seconds=settings.mitigation_timeout_seconds,
    ))


def activities_for(
    settings: Settings, redis_client: aioredis.Redis, http: httpx.AsyncClient
) -> list[object]:
    crash = CrashPoints(settings.crash_at)
    flags = FlagActivities(RedisFlagStore(redis_client), settings.flag_allowlist,
                           settings.flag_environment, crash)
    health = HealthActivities(redis_client, http)
    notify = NotifyActivities(http, [u.get_secret_value() for u in settings.slack_webhook_urls])
    runbooks = RunbookActivities(settings.runbook_dir, policy_from(settings))
    store = PostmortemActivities(settings.postmortem_dir)
    return [
        flags.set_flag, flags.restore_flag, health.check_health, notify.post_update,
        runbooks.find_runbook, runbooks.incident_policy, store.store_postmortem,
    ]


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    """A started worker with its clients; everything is closed on exit."""
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    async with httpx.AsyncClient() as http:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
            ),
            activities=activities_for(settings, redis_client, http),  # type: ignore[arg-type]
            sticky_queue_schedule_to_start_timeout=timedelta(
                seconds=settings.sticky_timeout_seconds
            ),
        )
        try:
            async with worker:
                yield worker
        finally:
            await redis_client.aclose()


async def run_worker(settings: Settings) -> None:
    client = await connect(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    async with running_worker(client, settings):
        log.info("worker.started", task_queue=settings.task_queue,
                 temporal=settings.temporal_address)
        await asyncio.Event().wait()


if __name__ == "__main__":
    from remediator.logging import configure_logging

    configure_logging()
    asyncio.run(run_worker(Settings()))
