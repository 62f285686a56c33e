"""kubernetes.restart against a real API server."""

from __future__ import annotations

import asyncio

from temporalio.testing import ActivityEnvironment

from activities.kubernetes.restart import RestartActivities
from tests.support.kube import Kube
from tests.support.kube_deployments import GOOD, Deployments, apply_req, new_name

NS = "production"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def _params(name: str, **extra: object) -> dict[str, object]:
    return {"namespace": NS, "deployment": name, **extra}


async def test_restart_rolls_the_pods_once_per_step(
    kube: Kube, restarts: RestartActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    req = apply_req(name, "restart", _params(name, wait_seconds=60))

    first = await activity_env.run(restarts.restart_deployment, req)
    stamp = deps.read(name).spec.template.metadata.annotations[RESTARTED_AT]
    again = await activity_env.run(restarts.restart_deployment, req)

    assert "rollout complete" in first.detail and first.undo is None
    assert again.detail == first.detail  # same timestamp: nothing new to roll out
    assert deps.read(name).spec.template.metadata.annotations[RESTARTED_AT] == stamp
    assert sorted(deps.history(name)) == [1, 2]
    await activity_env.run(restarts.restart_deployment,
                           apply_req(name, "restart", _params(name), incident="inc-next"))
    assert sorted(deps.history(name)) == [1, 2, 3]


async def test_dry_run_reports_and_changes_nothing(
    kube: Kube, restarts: RestartActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD, replicas=2)
    before = deps.read(name).metadata.resource_version

    restart = await activity_env.run(restarts.restart_deployment,
                                     apply_req(name, "restart", _params(name), True))

    assert restart.dry_run and RESTARTED_AT in restart.detail and "all 2 pods" in restart.detail
    await asyncio.sleep(1)
    assert deps.read(name).metadata.resource_version == before
    assert sorted(deps.history(name)) == [1]
