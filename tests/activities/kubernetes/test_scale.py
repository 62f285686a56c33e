"""kubernetes.scale against a real API server."""

from __future__ import annotations

import asyncio

from temporalio.testing import ActivityEnvironment

from activities.kubernetes.scale import ScaleActivities
from tests.support.kube import MAX_REPLICAS, Kube
from tests.support.kube_deployments import GOOD, Deployments, apply_req, new_name, undo_req

NS = "production"


def _params(name: str, **extra: object) -> dict[str, object]:
    return {"namespace": NS, "deployment": name, **extra}


async def test_scale_up_then_undo_restores_the_replaced_count(
    kube: Kube, scaling: ScaleActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD, replicas=2)
    req = apply_req(name, "scale", _params(name, replicas=4))

    applied = await activity_env.run(scaling.scale_deployment, req)
    again = await activity_env.run(scaling.scale_deployment, req)

    assert applied.undo == again.undo == {"namespace": NS, "deployment": name, "old": 2,
                                          "expected": 4}
    await deps.rolled_out(name, GOOD)
    assert deps.read(name).status.available_replicas == 4
    undone = await activity_env.run(scaling.restore_deployment_scale,
                                    undo_req(name, "scale", applied.undo))
    assert undone.undone and "4 → 2" in undone.detail
    assert deps.read(name).spec.replicas == 2


async def test_scale_is_capped_by_the_configured_maximum(
    kube: Kube, scaling: ScaleActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD, replicas=1)

    result = await activity_env.run(scaling.scale_deployment,
                                    apply_req(name, "scale", _params(name, replicas=500)))

    assert deps.read(name).spec.replicas == MAX_REPLICAS
    assert "REMEDIATOR_KUBE_MAX_REPLICAS" in result.detail


async def test_undo_of_scale_leaves_a_count_changed_since_alone(
    kube: Kube, scaling: ScaleActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD, replicas=2)
    applied = await activity_env.run(scaling.scale_deployment,
                                     apply_req(name, "scale", _params(name, replicas=3)))
    await asyncio.to_thread(deps.apps.patch_namespaced_deployment_scale, name, NS,
                            {"spec": {"replicas": 5}},
                            _content_type="application/merge-patch+json")

    result = await activity_env.run(scaling.restore_deployment_scale,
                                    undo_req(name, "scale", applied.undo))

    assert result.conflict and not result.undone
    assert deps.read(name).spec.replicas == 5


async def test_dry_run_reports_and_changes_nothing(
    kube: Kube, scaling: ScaleActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD, replicas=2)
    before = deps.read(name).metadata.resource_version

    scale = await activity_env.run(scaling.scale_deployment,
                                   apply_req(name, "scale", _params(name, replicas=4), True))

    assert scale.dry_run and not scale.applied
    assert f"would scale Deployment {NS}/{name}: 2 → 4 replicas" in scale.detail
    await asyncio.sleep(1)
    assert deps.read(name).metadata.resource_version == before
    assert sorted(deps.history(name)) == [1]
