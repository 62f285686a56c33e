"""An alert about a bad deploy becomes an incident that rolls the Deployment back — once,
even when the worker is SIGKILLed right after sending the patch."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.kube import Kube
from tests.support.kube_deployments import BAD, GOOD, Deployments, new_name
from tests.support.polling import eventually
from tests.support.worker_proc import WorkerProcess
from workflows.incident_models import IncidentView

NS = "production"
CRASH = "kubernetes.rollback_deployment.after_write"


async def _open(incidents: Incidents, name: str) -> str:
    payload = alertmanager_payload("TestKubeBadDeploy", service=name, case=name, namespace=NS,
                                   deployment=name)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    return (await incidents.open_or_join(batch)).id


async def _done(incidents: Incidents, incident_id: str) -> IncidentView:
    return await wait_done(incidents, incident_id, timeout=120)


async def test_bad_deploy_is_rolled_back_once_across_a_worker_crash(
    kube: Kube, settings: Settings, client: Client, redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    await redis_client.set(f"health:{name}", "ok")
    incidents = Incidents(client, settings.task_queue)

    crashing = WorkerProcess(settings, tmp_path, crash_at=CRASH)
    with crashing:
        incident_id = await _open(incidents, name)
        assert await asyncio.to_thread(crashing.wait_exit, 90) == -9  # killed after the patch
    assert deps.image(name) == GOOD  # the patch had landed
    with WorkerProcess(settings, tmp_path):
        view = await _done(incidents, incident_id)

    assert view.status == "resolved", view.timeline
    [step] = view.steps
    assert step.state == "applied" and "from revision 2" in step.detail, step.detail
    assert "rollout complete" in step.detail
    await deps.rolled_out(name, GOOD, timeout=5)
    # The retry recognised its own rollback: no flip back to the bad revision, no revision 4.
    assert deps.history(name) == {3: GOOD, 2: BAD}
    assert deps.read(name).metadata.annotations["deployment.kubernetes.io/revision"] == "3"


async def test_failed_verification_undoes_the_rollback_by_name(
    kube: Kube, settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    await redis_client.set(f"health:{name}", "failing")  # the rollback will not help
    incidents = Incidents(client, settings.task_queue)

    incident_id = await _open(incidents, name)

    async def escalated() -> IncidentView | None:
        view = await incidents.view(incident_id)
        return view if view.status == "escalated" else None

    view = await eventually(escalated, timeout=90, what="hand-over after failed verification")
    [step] = view.steps
    assert step.state == "undone", step.detail
    await deps.stuck(name)  # back on the revision the rollback replaced, by name
    assert deps.image(name) == BAD
    assert deps.history(name) == {3: GOOD, 4: BAD}
    await incidents.handle(incident_id).terminate("test over")
