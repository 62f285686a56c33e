"""Kubernetes reads for triage and verification: recent rollouts and their state.

Seed 04, step 2 "check recent deploys" (seed 02: "recent deployments, last 24 hours"):
which Deployments changed lately, to what images, and whether their rollout completed.
Reads only allow-listed Deployments; RBAC needs ``list`` on deployments and replicasets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field
from temporalio import activity

from activities.kubernetes.api import (
    KUBE_NAME,
    KubeApi,
    Obj,
    check_allowed,
    deployment_allowed,
    namespace_allowed,
    owned_by,
)
from activities.kubernetes.rollouts import (
    CHANGE_CAUSE,
    current_replica_set,
    name_of,
    revision,
    rollout_progress,
)
from activities.support.errors import NotAllowed, refusals_non_retryable
from remediator.models.contract import Contract


class RecentRolloutsRequest(Contract):
    """Deployments of ``namespace`` on the allow-list (or just ``deployment``), with the
    rollouts of the last ``since_hours``."""

    namespace: str = Field(pattern=KUBE_NAME)
    deployment: str | None = Field(None, pattern=KUBE_NAME)
    since_hours: float = Field(24.0, gt=0)

class Rollout(Contract):
    """One revision of a Deployment: its ReplicaSet, images, and when it was created."""

    revision: int
    replica_set: str
    images: list[str]
    created_at: datetime
    change_cause: str | None = None
    ready_replicas: int = 0
    current: bool = False

class DeploymentRollouts(Contract):
    """A Deployment's rollout state now and its recent revisions, newest first."""

    namespace: str
    deployment: str
    revision: int
    state: Literal["complete", "progressing", "failed"]
    summary: str
    replicas: int
    available_replicas: int
    rollouts: list[Rollout] = Field(default_factory=list)

class RecentRollouts(Contract):
    checked_at: datetime
    since: datetime
    deployments: list[DeploymentRollouts] = Field(default_factory=list)


def _created(obj: Obj) -> datetime:
    return datetime.fromisoformat(str(obj["metadata"]["creationTimestamp"]).replace("Z", "+00:00"))


def _rollout(rs: Obj, current: bool) -> Rollout:
    containers = rs["spec"]["template"].get("spec", {}).get("containers") or []
    return Rollout(
        revision=revision(rs), replica_set=name_of(rs), created_at=_created(rs),
        images=[str(c.get("image")) for c in containers], current=current,
        change_cause=(rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE),
        ready_replicas=int(rs.get("status", {}).get("readyReplicas") or 0))


def summarise_rollouts(deployment: Obj, rsets: list[Obj], since: datetime) -> DeploymentRollouts:
    current = current_replica_set(deployment, rsets)
    state, summary = rollout_progress(deployment, name_of(current) if current else None)
    recent = [_rollout(rs, rs is current) for rs in sorted(rsets, key=revision, reverse=True)
              if rs is current or _created(rs) >= since]
    status = deployment.get("status", {})
    return DeploymentRollouts(
        namespace=deployment["metadata"]["namespace"], deployment=name_of(deployment),
        revision=revision(deployment), state=state, summary=summary,
        replicas=int(deployment["spec"].get("replicas", 1)),
        available_replicas=int(status.get("availableReplicas") or 0), rollouts=recent)


class KubeStatusActivities:
    """``recent_rollouts``: read-only, safe to call from any phase."""

    def __init__(self, api: KubeApi, allowlist: list[str]) -> None:
        self._api = api
        self._allowlist = allowlist

    @activity.defn
    async def recent_rollouts(self, req: RecentRolloutsRequest) -> RecentRollouts:
        """Allow-listed Deployments of a namespace (or the one named): rollout state now
        (complete / progressing / failed) and the revisions created in the last
        ``since_hours``, plus the current one, with images and times."""
        now = datetime.now(UTC)
        since = now - timedelta(hours=req.since_hours)
        with refusals_non_retryable():
            if req.deployment is not None:
                check_allowed(req.namespace, req.deployment, self._allowlist)
                deployments = [await self._api.deployment(req.namespace, req.deployment)]
            elif namespace_allowed(req.namespace, self._allowlist):
                deployments = await self._api.deployments(req.namespace)
            else:
                raise NotAllowed(f"namespace {req.namespace} is not on the allow-list "
                                 "(REMEDIATOR_KUBE_ALLOWLIST)")
            rsets = await self._api.all_replica_sets(req.namespace)
        summaries = [
            summarise_rollouts(d, owned_by(d, rsets), since) for d in deployments
            if deployment_allowed(req.namespace, name_of(d), self._allowlist)]
        return RecentRollouts(checked_at=now, since=since, deployments=summaries)
