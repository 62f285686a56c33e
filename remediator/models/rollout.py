"""Contracts of the Kubernetes read activities (triage's "check recent deploys")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from remediator.models.contract import Contract


class RecentRolloutsRequest(Contract):
    """Deployments of ``namespace`` on the allow-list (or just ``deployment``), with the
    rollouts of the last ``since_hours``."""

    namespace: str = Field(pattern=r"^[^/\s]{1,253}$")
    deployment: str | None = Field(None, pattern=r"^[^/\s]{1,253}$")
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
