"""Scale and restart inside a real incident, each applied once though the worker is
SIGKILLed right after its write."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.kube import Kube
from tests.support.kube_deployments import GOOD, Deployments, new_name
from tests.support.worker_proc import WorkerProcess

NS = "production"


@pytest.mark.parametrize("crash_at", ["kubernetes.scale_deployment.after_write",
                                      "kubernetes.restart_deployment.after_write"])
async def test_scale_and_restart_apply_once_across_a_worker_crash(
    kube: Kube, settings: Settings, client: Client, redis_client: aioredis.Redis,
    tmp_path: Path, crash_at: str,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD, replicas=1)
    await redis_client.set(f"health:{name}", "ok")
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload("TestKubeSaturated", service=name, case=name, namespace=NS,
                                   deployment=name)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)

    crashing = WorkerProcess(settings, tmp_path, crash_at=crash_at)
    with crashing:
        incident_id = (await incidents.open_or_join(batch)).id
        assert await asyncio.to_thread(crashing.wait_exit, 90) == -9
    with WorkerProcess(settings, tmp_path):
        view = await wait_done(incidents, incident_id, timeout=120)

    assert view.status == "resolved", view.timeline
    scale, restart = view.steps
    assert scale.state == "applied" and "1 → 3" in scale.detail.replace("->", "→"), scale.detail
    assert restart.state == "applied", restart.detail
    deployment = deps.read(name)
    assert deployment.spec.replicas == 3
    # Exactly one restart: one new revision on top of the original, not two.
    assert sorted(deps.history(name)) == [1, 2]
    assert "kubectl.kubernetes.io/restartedAt" in deployment.spec.template.metadata.annotations
