"""Triage's recent rollouts (``recent_rollouts``) against a real API server."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.kubernetes.status import KubeStatusActivities, RecentRolloutsRequest
from tests.support.kube import Kube
from tests.support.kube_deployments import BAD, GOOD, Deployments, new_name


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
