"""Smoke test for the local Kubernetes control plane and the node simulator.

Needs the binaries from ``scripts/build-kube.sh`` (cached outside the repo).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api
from kubernetes.client.exceptions import ApiException

from remediator.devstack.kube_cluster import KubeCluster, find_kube_binaries, kube_cache_dir
from remediator.devstack.node_sim import NodeSim

pytestmark = [
    pytest.mark.kube,
    pytest.mark.skipif(
        find_kube_binaries() is None,
        reason=f"kube-apiserver/kube-controller-manager not cached in {kube_cache_dir()} "
               "or etcd missing: run scripts/build-kube.sh"),
]

NS = "smoke"
WORKER_TOKEN = "worker-token-0123456789abcdef"
STRATEGIC = "application/strategic-merge-patch+json"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    with KubeCluster(tmp_path_factory.mktemp("kube"),
                     extra_tokens={"remediator-worker": WORKER_TOKEN}) as c:
        yield c


@pytest.fixture(scope="module")
def admin(cluster: KubeCluster) -> Iterator[ApiClient]:
    with cluster.api_client() as api:
        yield api


@pytest.fixture(scope="module")
def node(admin: ApiClient) -> Iterator[NodeSim]:
    with NodeSim(admin) as sim:
        yield sim


def _deployment(image: str) -> dict[str, object]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": image}]}}},
    }


def test_deployment_rollout_and_progress_deadline(cluster: KubeCluster, admin: ApiClient,
                                                  node: NodeSim) -> None:
    core, apps = CoreV1Api(admin), AppsV1Api(admin)
    assert core.read_node(node.node_name).metadata.name == node.node_name
    core.create_namespace({"metadata": {"name": NS}})
    apps.create_namespaced_deployment(NS, _deployment("nginx:1"))

    def available() -> int | None:
        dep = apps.read_namespaced_deployment("web", NS)
        return dep.status.available_replicas if dep.status else None

    assert wait_for("2 available replicas", lambda: available() == 2, timeout=60)
    pods = core.list_namespaced_pod(NS, label_selector="app=web").items
    assert {p.spec.node_name for p in pods} == {node.node_name}

    apps.patch_namespaced_deployment("web", NS, {"spec": {
        "progressDeadlineSeconds": 5,
        "template": {"spec": {"containers": [{"name": "web", "image": "nginx:broken"}]}}}},
        _content_type=STRATEGIC)

    def deadline_exceeded() -> bool:
        dep = apps.read_namespaced_deployment("web", NS)
        conds = (dep.status.conditions or []) if dep.status else []
        return any(c.type == "Progressing" and c.status == "False"
                   and c.reason == "ProgressDeadlineExceeded" for c in conds)

    assert wait_for("ProgressDeadlineExceeded", deadline_exceeded, timeout=90)
    rsets = apps.list_namespaced_replica_set(NS, label_selector="app=web").items
    revisions = {(rs.metadata.annotations or {}).get("deployment.kubernetes.io/revision"):
                 rs.spec.template.spec.containers[0].image for rs in rsets}
    assert revisions.get("2") == "nginx:broken", revisions
    assert revisions.get("1") == "nginx:1", revisions
    assert available() == 2  # the old pods keep serving; the broken one never got Ready
    assert node.errors == 0, node.last_error


def test_extra_token_is_subject_to_rbac(cluster: KubeCluster, tmp_path: Path) -> None:
    path = cluster.write_kubeconfig(tmp_path / "worker.kubeconfig", token=WORKER_TOKEN,
                                    user="remediator-worker")
    with kube_config.new_client_from_config(config_file=str(path)) as api:
        with pytest.raises(ApiException) as forbidden:
            AppsV1Api(api).list_namespaced_deployment("default")
        assert forbidden.value.status == 403
        assert "remediator-worker" in str(forbidden.value.body)
    with cluster.api_client(token="not-a-real-token") as api:
        with pytest.raises(ApiException) as unauthorized:
            AppsV1Api(api).list_namespaced_deployment("default")
        assert unauthorized.value.status == 401
    with kube_config.new_client_from_config(config_file=str(cluster.admin_kubeconfig)) as api:
        assert AppsV1Api(api).list_namespaced_deployment("default").items == []
