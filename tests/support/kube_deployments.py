"""Deployments for the tests, set up and inspected with the admin client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from kubernetes.client import ApiClient, AppsV1Api
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from remediator.models.mitigation import MitigationRequest, UndoRequest
from tests.support.polling import eventually

STRATEGIC = "application/strategic-merge-patch+json"
GOOD, BAD = "registry.local/api:1.0", "registry.local/api:broken-1.1"


def new_name() -> str:
    return f"api-{uuid.uuid4().hex[:8]}"


def apply_req(name: str, step: str, params: dict[str, Any], dry_run: bool = False,
              incident: str | None = None) -> MitigationRequest:
    return MitigationRequest(incident_id=incident or f"inc-{name}", step_id=step, params=params,
                             dry_run=dry_run)


def undo_req(name: str, step: str, undo: dict[str, Any] | None) -> UndoRequest:
    assert undo is not None
    return UndoRequest(incident_id=f"inc-{name}", step_id=step, undo=undo)


async def refused(env: ActivityEnvironment, fn: Callable[..., Awaitable[Any]], arg: Any,
                  kind: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        await env.run(fn, arg)
    assert info.value.type == kind, info.value
    assert info.value.non_retryable
    return info.value


class Deployments:
    """Create, change and read Deployments of one namespace as an administrator would."""

    def __init__(self, admin: ApiClient, namespace: str) -> None:
        self.apps = AppsV1Api(admin)
        self.ns = namespace

    def read(self, name: str) -> Any:
        return self.apps.read_namespaced_deployment(name, self.ns)

    def image(self, name: str) -> str:
        return str(self.read(name).spec.template.spec.containers[0].image)

    def history(self, name: str) -> dict[int, str]:
        """revision → image of every ReplicaSet the Deployment owns."""
        uid = self.read(name).metadata.uid
        found = {}
        for rs in self.apps.list_namespaced_replica_set(self.ns).items:
            if any(ref.uid == uid for ref in rs.metadata.owner_references or []):
                rev = int(rs.metadata.annotations["deployment.kubernetes.io/revision"])
                found[rev] = rs.spec.template.spec.containers[0].image
        return found

    async def create(self, name: str, image: str = GOOD, replicas: int = 2) -> None:
        labels = {"app": name}
        body = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 3,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "api", "image": image}]}}},
        }
        await asyncio.to_thread(self.apps.create_namespaced_deployment, self.ns, body)
        if "broken" not in image:
            await self.rolled_out(name, image)

    async def set_image(self, name: str, image: str) -> None:
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": image}]}}}}
        await asyncio.to_thread(self.apps.patch_namespaced_deployment, name, self.ns, patch,
                                _content_type=STRATEGIC)

    async def deploy(self, name: str, image: str) -> None:
        """Roll out ``image``; a good one until complete, a broken one until it is stuck."""
        await self.set_image(name, image)
        if "broken" in image:
            await self.stuck(name)
        else:
            await self.rolled_out(name, image)

    async def rolled_out(self, name: str, image: str, timeout: float = 60) -> None:
        def probe() -> bool:
            dep = self.read(name)
            s = dep.status
            return bool(
                dep.spec.template.spec.containers[0].image == image and s is not None
                and (s.observed_generation or 0) >= dep.metadata.generation
                and s.updated_replicas == dep.spec.replicas == s.available_replicas
                and (s.replicas or 0) == dep.spec.replicas)

        await eventually(lambda: asyncio.to_thread(probe), timeout=timeout, every=0.2,
                         what=f"{self.ns}/{name} rolled out on {image}")

    async def stuck(self, name: str, timeout: float = 60) -> None:
        def probe() -> bool:
            conds = self.read(name).status.conditions or []
            return any(c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded"
                       for c in conds)

        await eventually(lambda: asyncio.to_thread(probe), timeout=timeout, every=0.2,
                         what=f"{self.ns}/{name} ProgressDeadlineExceeded")
