"""The ``kubernetes`` verify check reads a Deployment's rollout state from the real API
server: stuck is unhealthy, rolled out is healthy, unreadable is never a pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.health import HealthActivities
from activities.kubernetes.api import KubeApi, KubeNotConfigured
from remediator.models.runbook import Check
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.kube import ALLOWLIST, Kube
from tests.support.kube_deployments import BAD, GOOD, Deployments, new_name

NS = "production"


def _check(name: str, namespace: str = NS) -> Check:
    return Check(source="kubernetes", target=f"{namespace}/{name}")


async def test_stuck_is_unhealthy_and_rolled_out_is_healthy(
    kube: Kube, worker_api: KubeApi, state: aioredis.Redis,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    env = ActivityEnvironment()
    async with httpx.AsyncClient() as http:
        health = HealthActivities(state, http, worker_api, ALLOWLIST)
        await deps.create(name, GOOD)
        good = await env.run(health.check_health, _check(name))
        await deps.deploy(name, BAD)
        stuck = await env.run(health.check_health, _check(name))
        missing = await env.run(health.check_health, _check("no-such-deployment"))
        refused = await env.run(health.check_health, _check(name, "kube-system"))
        # sandbox is allow-listed but not bound by deploy/rbac.yaml: the API server says no.
        forbidden = await env.run(health.check_health, _check(name, "sandbox"))
    assert good.healthy and good.observed == f"{NS}/{name}: rolled out: 2 of 2 replicas available"
    assert not stuck.healthy and "has timed out progressing" in stuck.observed, stuck.observed
    assert not missing.healthy and "404" in missing.observed
    assert not refused.healthy and "not on the allow-list" in refused.observed
    assert not forbidden.healthy and "403" in forbidden.observed


async def test_without_kubernetes_the_check_fails_with_the_reason(state: aioredis.Redis) -> None:
    def unconfigured() -> KubeApi:
        raise KubeNotConfigured("no usable Kubernetes configuration")

    async with httpx.AsyncClient() as http:
        for kube_api in (None, KubeApi(unconfigured)):  # type: ignore[arg-type]
            health = HealthActivities(state, http, kube_api, ["*"])
            result = await ActivityEnvironment().run(health.check_health, _check("api"))
            assert not result.healthy and "Kubernetes" in result.observed


@pytest.mark.parametrize("fields", [{"target": "just-a-name"}, {"target": "a/b/c"},
                                   {"target": "ns/api", "expect": "ok"},
                                   {"query": "up"}])
def test_a_kubernetes_check_needs_namespace_and_name(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="kubernetes check"):
        Check.model_validate({"source": "kubernetes", **fields})


async def test_incident_rolls_back_and_verifies_on_the_deployment_itself(
    kube: Kube, settings: Settings, client: Client, worker: None,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    payload = alertmanager_payload("TestKubeBadDeployVerified", service=name, namespace=NS,
                                   deployment=name)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    incidents = Incidents(client, settings.task_queue)
    view = await wait_done(incidents, (await incidents.open_or_join(batch)).id, timeout=120)
    assert view.status == "resolved", view.timeline
    assert view.verdict is not None and view.verdict.passed
    healthy = next(e for e in view.timeline if e.kind == "verify.healthy")
    assert f"{NS}/{name}: rolled out: 2 of 2 replicas available" in healthy.detail
    assert deps.image(name) == GOOD
