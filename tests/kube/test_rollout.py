"""kubernetes.rollout_undo against a real API server, with the worker's own credentials."""

from __future__ import annotations

import asyncio

from temporalio.testing import ActivityEnvironment

from activities.kubernetes import RolloutActivities
from activities.kubernetes_status import KubeStatusActivities
from remediator.models.rollout import RecentRolloutsRequest
from tests.kube.conftest import Kube
from tests.kube.helpers import BAD, GOOD, Deployments, apply_req, new_name, refused, undo_req

NS = "production"


def _params(name: str, **extra: object) -> dict[str, object]:
    return {"namespace": NS, "deployment": name, "wait_seconds": 60, **extra}


async def test_rollback_returns_a_stuck_deploy_to_the_last_good_revision(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    assert deps.history(name) == {1: GOOD, 2: BAD}

    result = await activity_env.run(rollouts.rollback_deployment,
                                    apply_req(name, "rollback", _params(name)))

    assert result.applied and "rollout complete" in result.detail, result.detail
    assert "from revision 2" in result.detail and "to revision 1" in result.detail
    await deps.rolled_out(name, GOOD, timeout=5)  # the activity waited for it
    # kubectl semantics: the good ReplicaSet comes back as revision 3, none is created.
    assert deps.history(name) == {3: GOOD, 2: BAD}
    assert result.undo is not None and result.undo["revert_to_revision"] == 2


async def test_repeated_rollback_changes_nothing(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    req = apply_req(name, "rollback", _params(name))
    first = await activity_env.run(rollouts.rollback_deployment, req)
    generation = deps.read(name).metadata.generation

    again = await activity_env.run(rollouts.rollback_deployment, req)

    # The target was recorded: "previous revision" would now be the bad one.
    assert again.undo == first.undo
    assert deps.read(name).metadata.generation == generation
    assert deps.history(name) == {3: GOOD, 2: BAD}
    assert deps.image(name) == GOOD


async def test_rollback_skips_an_earlier_revision_that_never_completed(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    await deps.deploy(name, "registry.local/api:broken-1.2")

    result = await activity_env.run(rollouts.rollback_deployment,
                                    apply_req(name, "rollback", _params(name)))

    assert "still fully available" in result.detail
    await deps.rolled_out(name, GOOD, timeout=5)
    assert deps.history(name)[4] == GOOD


async def test_rollback_to_a_named_revision(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, "registry.local/api:1.0")
    await deps.deploy(name, "registry.local/api:2.0")
    await deps.deploy(name, "registry.local/api:3.0")

    await activity_env.run(rollouts.rollback_deployment,
                           apply_req(name, "to-1", _params(name, to_revision=1)))

    await deps.rolled_out(name, "registry.local/api:1.0", timeout=5)
    error = await refused(activity_env, rollouts.rollback_deployment,
                          apply_req(name, "to-9", _params(name, to_revision=9)),
                          "RevisionNotFound")
    assert "known revisions: 1, 2, 3, 4" in error.message


async def test_dry_run_reports_the_rollback_and_changes_nothing(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    before = deps.read(name).metadata.resource_version

    result = await activity_env.run(rollouts.rollback_deployment,
                                    apply_req(name, "rollback", _params(name), dry_run=True))

    assert result.dry_run and not result.applied and result.undo is None
    assert f"from revision 2 ({BAD}) to revision 1 ({GOOD})" in result.detail, result.detail
    assert "dryRun=All" in result.detail
    await asyncio.sleep(1)
    assert deps.read(name).metadata.resource_version == before
    assert deps.history(name) == {1: GOOD, 2: BAD}


async def test_undo_rolls_forward_to_the_replaced_revision_by_name(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, "registry.local/api:1.0")
    await deps.deploy(name, "registry.local/api:2.0")
    applied = await activity_env.run(rollouts.rollback_deployment,
                                     apply_req(name, "rollback", _params(name)))
    await deps.rolled_out(name, "registry.local/api:1.0", timeout=5)

    undone = await activity_env.run(rollouts.restore_deployment_revision,
                                    undo_req(name, "rollback", applied.undo))
    again = await activity_env.run(rollouts.restore_deployment_revision,
                                   undo_req(name, "rollback", applied.undo))

    assert undone.undone and again.undone
    await deps.rolled_out(name, "registry.local/api:2.0", timeout=5)
    assert deps.history(name) == {3: "registry.local/api:1.0", 4: "registry.local/api:2.0"}


async def test_undo_leaves_a_deployment_changed_since_alone(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, "registry.local/api:1.0")
    await deps.deploy(name, BAD)
    applied = await activity_env.run(rollouts.rollback_deployment,
                                     apply_req(name, "rollback", _params(name)))
    await deps.deploy(name, "registry.local/api:1.1-hotfix")

    result = await activity_env.run(rollouts.restore_deployment_revision,
                                    undo_req(name, "rollback", applied.undo))

    assert result.conflict and not result.undone
    assert deps.image(name) == "registry.local/api:1.1-hotfix"


async def test_recent_rollouts_lists_revisions_images_and_state(
    kube: Kube, kube_status: KubeStatusActivities, activity_env: ActivityEnvironment
) -> None:
    deps, name = Deployments(kube.admin, "staging"), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)

    found = await activity_env.run(kube_status.recent_rollouts,
                                   RecentRolloutsRequest(namespace="staging", since_hours=2))

    [mine] = [d for d in found.deployments if d.deployment == name]
    assert mine.state == "failed" and "timed out progressing" in mine.summary
    assert mine.revision == 2 and mine.available_replicas == 2
    assert [(r.revision, r.images, r.current) for r in mine.rollouts] == [
        (2, [BAD], True), (1, [GOOD], False)]
    assert mine.rollouts[1].ready_replicas == 2
