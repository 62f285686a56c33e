"""API errors classified once: a 409 is retried with a fresh read, refusals are final,
and what retrying can fix (connection errors, 5xx) is left for Temporal to retry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.kubernetes.api import Conflict, KubeApi, classify
from activities.kubernetes.rollback import RolloutActivities
from activities.support.crash_points import CrashPoints
from activities.support.errors import AuthFailed, Rejected, ResourceNotFound
from remediator.devstack.servers import free_port
from tests.support.kube import ALLOWLIST, Kube
from tests.support.kube_deployments import BAD, GOOD, Deployments, apply_req, new_name, refused

NS = "production"


@pytest.mark.parametrize(("status", "kind"), [
    (401, AuthFailed), (403, AuthFailed), (404, ResourceNotFound), (409, Conflict),
    (422, Rejected), (400, Rejected), (429, ApiException), (500, ApiException),
    (503, ApiException),
])
def test_api_errors_are_classified(status: int, kind: type[Exception]) -> None:
    error = ApiException(status=status, reason="Reason")
    error.body = '{"kind": "Status", "message": "what the server said"}'
    classified = classify(error)
    assert isinstance(classified, kind)
    if kind is not ApiException:
        assert f"{status} Reason: what the server said" in str(classified)


class Interfering(KubeApi):
    """Someone else writes the Deployment just before our first patch lands."""

    def __init__(self, client: ApiClient, admin: Deployments) -> None:
        super().__init__(client)
        self.admin, self.conflicts = admin, 0

    async def patch_deployment(self, namespace: str, name: str, patch: Any,
                               dry_run: bool = False) -> Any:
        if self.conflicts == 0:
            await asyncio.to_thread(self.admin.apps.patch_namespaced_deployment, name, namespace,
                                    {"metadata": {"labels": {"touched": "yes"}}},
                                    _content_type="application/merge-patch+json")
        try:
            return await super().patch_deployment(namespace, name, patch, dry_run)
        except Conflict:
            self.conflicts += 1
            raise


async def test_a_conflict_is_retried_with_a_fresh_read(
    kube: Kube, state: aioredis.Redis, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    api = Interfering(kube.worker, deps)
    rollouts = RolloutActivities(api, state, ALLOWLIST, CrashPoints(None))

    await activity_env.run(rollouts.rollback_deployment,
                           apply_req(name, "rollback", {"namespace": NS, "deployment": name}))

    assert api.conflicts == 1  # the first patch carried a stale resourceVersion
    await deps.rolled_out(name, GOOD, timeout=10)
    assert deps.read(name).metadata.labels == {"touched": "yes"}  # their change survived


async def test_an_unreachable_api_server_is_left_to_retry(
    state: aioredis.Redis, activity_env: ActivityEnvironment
) -> None:
    config = Configuration(host=f"https://127.0.0.1:{free_port()}")
    config.retries = 0
    rollouts = RolloutActivities(KubeApi(ApiClient(config)), state, ALLOWLIST, CrashPoints(None))
    with pytest.raises(Exception) as info:
        await activity_env.run(rollouts.rollback_deployment,
                               apply_req("x", "s", {"namespace": NS, "deployment": "api"}))
    assert not isinstance(info.value, ApplicationError)  # retryable: not a refusal
    assert "Connection refused" in str(info.value) or "Max retries" in str(info.value)


async def test_a_worker_without_kubernetes_config_refuses_kubernetes_steps(
    state: aioredis.Redis, activity_env: ActivityEnvironment, tmp_path: Any
) -> None:
    api = KubeApi.from_config(str(tmp_path / "no-such-kubeconfig"), None)
    rollouts = RolloutActivities(api, state, ALLOWLIST, CrashPoints(None))
    error = await refused(activity_env, rollouts.rollback_deployment,
                          apply_req("x", "s", {"namespace": NS, "deployment": "api"}),
                          "KubeNotConfigured")
    assert "KUBECONFIG" in error.message
