"""The Kubernetes half of the demo: a real bad rollout of ``default/checkout``.

Revision 1 (``checkout:1.4.0``) rolls out; revision 2 (``checkout:broken-1.5.0``) never
becomes Ready on the simulated node and the Deployment reports
ProgressDeadlineExceeded. The alert ``KubeDeploymentRolloutStuck`` then opens an
incident whose packaged runbook ``kubernetes-rollback`` waits for a human approval,
rolls back to revision 1 by name, and verifies on the Deployment's own rollout state.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from kubernetes.client import ApiClient, AppsV1Api
from kubernetes.client.exceptions import ApiException

NAMESPACE, NAME = "default", "checkout"
GOOD, BAD = "registry.local/checkout:1.4.0", "registry.local/checkout:broken-1.5.0"
STEP = "rollback-deployment"


class BadRollout:
    """Stages the bad deploy with the cluster's admin client."""

    def __init__(self, api_client: ApiClient) -> None:
        self.apps = AppsV1Api(api_client)

    def _body(self, image: str) -> dict[str, Any]:
        labels = {"app": NAME}
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 5,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": NAME, "image": image}]}}},
        }

    def stage(self, timeout: float = 120) -> None:
        """A fresh Deployment on the good image, then the broken one until it is stuck."""
        try:
            self.apps.delete_namespaced_deployment(NAME, NAMESPACE)
            self._until(lambda: self._gone(), timeout, "old demo Deployment deleted")
        except ApiException as exc:
            if exc.status != 404:
                raise
        self.apps.create_namespaced_deployment(NAMESPACE, self._body(GOOD))  # type: ignore[arg-type]
        self._until(lambda: self._available(GOOD), timeout, f"{GOOD} rolled out")
        patch = {"spec": {"template": {"spec": {"containers": [{"name": NAME, "image": BAD}]}}}}
        self.apps.patch_namespaced_deployment(NAME, NAMESPACE, patch)
        self._until(self._stuck, timeout, f"{BAD} stuck")

    def _read(self) -> dict[str, Any]:
        resp = self.apps.read_namespaced_deployment(NAME, NAMESPACE, _preload_content=False)
        found: dict[str, Any] = json.loads(resp.data)  # type: ignore[attr-defined]
        return found

    def image(self) -> str:
        return str(self._read()["spec"]["template"]["spec"]["containers"][0]["image"])

    def _gone(self) -> bool:
        try:
            self._read()
        except ApiException as exc:
            return bool(exc.status == 404)
        return False

    def _available(self, image: str) -> bool:
        dep = self._read()
        status, want = dep.get("status", {}), dep["spec"]["replicas"]
        return (self.image() == image and status.get("updatedReplicas") == want
                and status.get("availableReplicas") == want)

    def _stuck(self) -> bool:
        conds = self._read().get("status", {}).get("conditions") or []
        return any(c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
                   for c in conds)

    @staticmethod
    def _until(probe: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo: {what} not reached in {timeout:g}s")
            time.sleep(0.3)


def rollout_alert() -> dict[str, Any]:
    """What kube-state-metrics' KubeDeploymentRolloutStuck rule would send for it."""
    labels = {"alertname": "KubeDeploymentRolloutStuck", "namespace": NAMESPACE,
              "deployment": NAME, "service": NAME, "environment": "production",
              "severity": "warning"}
    return {
        "version": "4", "groupKey": f"{{}}:{{alertname=\"KubeDeploymentRolloutStuck\"}}/"
                                    f"{uuid.uuid4().hex[:8]}",
        "status": "firing", "receiver": "remediator", "groupLabels": labels,
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "",
        "alerts": [{"status": "firing", "labels": labels,
                    "annotations": {"summary": f"Deployment {NAMESPACE}/{NAME} rollout is stuck"},
                    "startsAt": datetime.now(UTC).isoformat(), "fingerprint": ""}],
    }


def wait_for_approval(base_url: str, incident_id: str, timeout: float) -> dict[str, Any]:
    """The incident's state once its rollback step waits for approval."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = httpx.get(f"{base_url}/v1/incidents/{incident_id}", timeout=10)
        if resp.status_code == 200 and resp.json()["status"] == "awaiting_approval":
            state: dict[str, Any] = resp.json()
            return state
        time.sleep(0.5)
    raise TimeoutError(f"{incident_id} did not ask for approval within {timeout:g}s")
