"""A pretend node for the local control plane (there is no scheduler or kubelet).

``NodeSim`` registers one Ready Node and, from a background thread, every
``poll_interval`` seconds:

* binds Pending, unscheduled pods to that node (``pods/binding``);
* marks bound pods Running and Ready -- unless a container image contains
  ``broken_marker`` (default ``":broken"``): such pods run but never become Ready, so a
  Deployment rolling out that image fails with ``ProgressDeadlineExceeded``;
* force-deletes (grace 0) pods that are terminating, as a kubelet would once the
  containers had stopped.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from types import TracebackType

from kubernetes.client import (
    ApiClient,
    CoreV1Api,
    V1Binding,
    V1DeleteOptions,
    V1Node,
    V1ObjectMeta,
    V1ObjectReference,
    V1Pod,
)
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

_MERGE = "application/merge-patch+json"
_STRATEGIC = "application/strategic-merge-patch+json"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeSim:
    """Simulates one node. Use as a context manager or call ``start()``/``stop()``."""

    def __init__(self, api_client: ApiClient, node_name: str = "sim-node-1", *,
                 broken_marker: str = ":broken", poll_interval: float = 0.2,
                 pod_cidr_prefix: str = "10.244.0.") -> None:
        self.core = CoreV1Api(api_client)
        self.node_name = node_name
        self.broken_marker = broken_marker
        self.poll_interval = poll_interval
        self._pod_cidr_prefix = pod_cidr_prefix
        self._pod_ips: dict[str, str] = {}
        self._next_ip = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.last_error: BaseException | None = None

    def __enter__(self) -> NodeSim:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Register the node (synchronously) and start the reconcile thread."""
        if self._thread is not None:
            raise RuntimeError("NodeSim already started")
        self.ensure_node()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"node-sim-{self.node_name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- node ------------------------------------------------------------------------
    def ensure_node(self) -> None:
        labels = {"kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux",
                  "node.remediator.dev/simulated": "true"}
        try:
            self.core.create_node(V1Node(metadata=V1ObjectMeta(name=self.node_name,
                                                               labels=labels)))
        except ApiException as e:
            if e.status != 409:
                raise
        now = _now()
        resources = {"cpu": "16", "memory": "64Gi", "pods": "250"}
        status = {"status": {
            "capacity": resources, "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.node_name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "simulated by remediator.devstack.node_sim",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "nodeInfo": {"kubeletVersion": "v1.20.2-sim", "kubeProxyVersion": "v1.20.2-sim",
                         "containerRuntimeVersion": "sim://1", "operatingSystem": "linux",
                         "architecture": "amd64", "osImage": "sim", "kernelVersion": "sim",
                         "machineID": "sim", "systemUUID": "sim", "bootID": "sim"}}}
        self.core.patch_node_status(self.node_name, status, _content_type=_STRATEGIC)

    # -- pods --------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile_once()
            except Exception as e:  # keep simulating through transient API errors
                self.errors += 1
                self.last_error = e
                log.warning("node_sim %s: %s", self.node_name, e)
            self._stop.wait(self.poll_interval)

    def reconcile_once(self) -> None:
        for pod in self.core.list_pod_for_all_namespaces().items:
            meta, spec = pod.metadata, pod.spec
            if meta is None or spec is None or meta.name is None or meta.namespace is None:
                continue
            if spec.node_name not in (None, self.node_name):
                continue  # another (simulated) node's pod
            try:
                if meta.deletion_timestamp is not None:
                    self.core.delete_namespaced_pod(
                        meta.name, meta.namespace, grace_period_seconds=0,
                        body=V1DeleteOptions(grace_period_seconds=0))
                    self._pod_ips.pop(f"{meta.namespace}/{meta.name}", None)
                    continue
                if spec.node_name is None:
                    self._bind(meta.namespace, meta.name)
                self._mark_running(pod)
            except ApiException as e:
                if e.status not in (404, 409):  # gone or changed under us: next round
                    raise

    def _bind(self, namespace: str, name: str) -> None:
        body = V1Binding(metadata=V1ObjectMeta(name=name), target=V1ObjectReference(
            api_version="v1", kind="Node", name=self.node_name))
        # The server answers with a Status, not a Binding: don't deserialize it.
        self.core.create_namespaced_pod_binding(name, namespace, body, _preload_content=False)

    def is_broken(self, pod: V1Pod) -> bool:
        if pod.spec is None:
            return False
        containers = list(pod.spec.containers or []) + list(pod.spec.init_containers or [])
        return any(self.broken_marker in (c.image or "") for c in containers)

    def _mark_running(self, pod: V1Pod) -> None:
        assert pod.metadata is not None and pod.spec is not None
        ready = not self.is_broken(pod)
        want = "True" if ready else "False"
        status = pod.status
        conds = {c.type: c.status for c in (status.conditions or [])} if status else {}
        if status is not None and status.phase == "Running" and conds.get("Ready") == want:
            return
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if key not in self._pod_ips:
            self._next_ip += 1
            self._pod_ips[key] = f"{self._pod_cidr_prefix}{self._next_ip % 250 + 2}"
        ip = self._pod_ips[key]
        now = _now()
        not_ready = {} if ready else {"reason": "ContainersNotReady",
                                      "message": "readiness probe failed (simulated)"}
        containers = [{
            "name": c.name, "image": c.image, "imageID": f"sim://{c.image}",
            "containerID": f"sim://{pod.metadata.uid}/{c.name}", "ready": ready,
            "started": True, "restartCount": 0,
            "state": {"running": {"startedAt": now}}} for c in pod.spec.containers]
        body = {"status": {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": now, "containerStatuses": containers,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": want, "lastTransitionTime": now,
                 **not_ready},
                {"type": "Ready", "status": want, "lastTransitionTime": now, **not_ready}]}}
        assert pod.metadata.name is not None and pod.metadata.namespace is not None
        self.core.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, body,
                                              _content_type=_MERGE)
