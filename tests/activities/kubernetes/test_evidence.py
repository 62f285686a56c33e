"""Kubernetes evidence on a real API server with the worker's own credentials: a bad
rollout, its pods not Ready and Warning events; the suspect; ``before_suspect``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from kubernetes.client import CoreV1Api
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.evidence.collect import EvidenceActivities
from activities.evidence.kube import KubeEvidence
from activities.evidence.request import EvidenceRequest
from activities.evidence.store import ArtefactStore
from activities.kubernetes.api import KubeApi
from activities.kubernetes.rollback import RolloutActivities
from remediator.models.mitigation import MitigationRequest
from tests.support.kube import ALLOWLIST, Kube
from tests.support.kube_deployments import BAD, GOOD, Deployments, new_name

NS = "production"
HOTFIX = "registry.local/api:3.0"


def _created(deps: Deployments, name: str, revision: int) -> datetime:
    uid = deps.read(name).metadata.uid
    rsets: list[Any] = deps.apps.list_namespaced_replica_set(deps.ns).items
    for rs in rsets:
        if any(ref.uid == uid for ref in rs.metadata.owner_references or []) and \
                rs.metadata.annotations["deployment.kubernetes.io/revision"] == str(revision):
            created: datetime = rs.metadata.creation_timestamp
            return created
    raise AssertionError(f"no revision {revision}")


def _warning(admin: Kube, pod: str) -> None:
    now = datetime.now(UTC)
    event: Any = {
        "metadata": {"name": f"{pod}.{uuid.uuid4().hex[:8]}", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS},
        "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
        "firstTimestamp": now, "lastTimestamp": now, "count": 3,
        "source": {"component": "kubelet"}}
    CoreV1Api(admin.admin).create_namespaced_event(NS, event)


def _collector(kube: Kube, state: aioredis.Redis, tmp_path: Path) -> EvidenceActivities:
    return EvidenceActivities([KubeEvidence(KubeApi(kube.worker), ALLOWLIST)], state,
                              ArtefactStore(tmp_path), budget_seconds=20)


async def test_the_bad_rollout_is_the_suspect_and_before_suspect_rolls_back_before_it(
    kube: Kube, state: aioredis.Redis, rollouts: RolloutActivities,
    activity_env: ActivityEnvironment, tmp_path: Path,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)  # revision 2: stuck, its pods never Ready
    onset = _created(deps, name, 2) + timedelta(seconds=1)
    pods: list[Any] = CoreV1Api(kube.admin).list_namespaced_pod(NS).items
    _warning(kube, next(p.metadata.name for p in pods if p.metadata.name.startswith(name)))
    req = EvidenceRequest(incident_id=f"INC-{name}", occurrence=f"INC-{name}@run",
                          service=name, onset=onset,
                          labels={"namespace": NS, "deployment": name})

    found = await activity_env.run(_collector(kube, state, tmp_path).collect_evidence, req)

    [note] = found.sources
    assert note.ok, note
    assert f"{NS}/{name} failed at revision 2" in note.detail
    assert "not Ready (ContainersNotReady" in note.detail and "Warning event(s)" in note.detail
    assert "BackOff" in note.detail
    assert found.suspect is not None and BAD in found.suspect.summary, found.suspect
    assert found.suspect.relation == 2 and "before onset" in found.suspect_line()
    assert found.artefact is not None and Path(found.artefact).exists()

    await deps.deploy(name, HOTFIX)  # after onset someone rolls forward: revision 3
    # Rolled back without a revision named, the newest earlier one (the bad one) returns;
    # before_suspect names the good revision before the suspect instead.
    step = MitigationRequest(incident_id=req.incident_id, occurrence=req.occurrence,
                             step_id="rollback", params={
                                 "namespace": NS, "deployment": name, "wait_seconds": 60,
                                 "to_revision": "before_suspect"})
    result = await activity_env.run(rollouts.rollback_deployment, step)
    assert result.applied and "the one before the suspect rollout" in result.detail, result.detail
    await deps.rolled_out(name, GOOD, timeout=30)


async def test_a_namespace_the_worker_may_not_read_is_noted_not_raised(
    kube: Kube, state: aioredis.Redis, activity_env: ActivityEnvironment, tmp_path: Path,
) -> None:
    deps, name = Deployments(kube.admin, "sandbox"), new_name()
    await deps.create(name, GOOD)
    req = EvidenceRequest(incident_id=f"INC-{name}", occurrence=f"INC-{name}", service=name,
                          onset=datetime.now(UTC), labels={"namespace": "sandbox"})
    found = await activity_env.run(_collector(kube, state, tmp_path).collect_evidence, req)
    [note] = found.sources
    assert not note.ok and "403" in note.detail and "\n" not in note.detail, note
    assert found.suspect is None


async def test_before_suspect_without_a_suspect_is_refused(
    kube: Kube, rollouts: RolloutActivities, activity_env: ActivityEnvironment,
) -> None:
    deps, name = Deployments(kube.admin, NS), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, "registry.local/api:2.0")
    step = MitigationRequest(incident_id=f"INC-{name}", step_id="rollback", params={
        "namespace": NS, "deployment": name, "to_revision": "before_suspect"})
    with pytest.raises(ApplicationError) as info:
        await activity_env.run(rollouts.rollback_deployment, step)
    assert info.value.type == "RevisionNotFound" and info.value.non_retryable
    assert "no suspect rollout" in str(info.value)
    assert deps.image(name) == "registry.local/api:2.0"
