"""A real Kubernetes control plane for the session: etcd + kube-apiserver + the
Deployment/ReplicaSet controllers, a simulated node, and deploy/rbac.yaml applied.

The worker side only ever gets the ``remediator-worker`` token, which nothing but
deploy/rbac.yaml binds; setup uses the admin token. ``sandbox`` is on the worker's
allow-list but not bound by the manifest, so RBAC — not the allow-list — refuses there.
The session fixture ``kube`` (tests/conftest.py) starts it; a test that uses it is
marked ``kube``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from kubernetes import utils
from kubernetes.client import ApiClient, CoreV1Api

from remediator.devstack.kube_cluster import KubeCluster, find_kube_binaries, kube_cache_dir
from remediator.devstack.node_sim import NodeSim

RBAC_MANIFEST = Path(__file__).parents[2] / "deploy" / "rbac.yaml"
WORKER_USER = "remediator-worker"
WORKER_TOKEN = "remediator-worker-token-0123456789"
PROBE_USER = "rbac-probe"
PROBE_TOKEN = "rbac-probe-token-0123456789abcdef"
# production and staging are bound by deploy/rbac.yaml; sandbox is allow-listed only.
NAMESPACES = ("production", "staging", "sandbox", "probe")
ALLOWLIST = ["production/*", "staging/*", "sandbox/*", "probe/*"]
MAX_REPLICAS = 6


@dataclasses.dataclass
class Kube:
    cluster: KubeCluster
    admin: ApiClient
    worker: ApiClient
    probe: ApiClient
    worker_kubeconfig: Path


def apply_manifest(admin: ApiClient, path: Path) -> list[dict[str, object]]:
    """Create every object of a multi-document YAML file with the admin client."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        utils.create_from_dict(admin, doc)
    return docs


@contextmanager
def running_kube(state: Path) -> Iterator[Kube]:
    """The cluster with its namespaces and deploy/rbac.yaml; skips the test without the
    cached binaries."""
    if find_kube_binaries() is None:
        pytest.skip(f"kube-apiserver/kube-controller-manager not cached in {kube_cache_dir()} "
                    "or etcd missing: run scripts/build-kube.sh")
    tokens = {WORKER_USER: WORKER_TOKEN, PROBE_USER: PROBE_TOKEN}
    with KubeCluster(state / "cluster", extra_tokens=tokens) as cluster, \
            cluster.api_client() as admin, NodeSim(admin):
        core = CoreV1Api(admin)
        for ns in NAMESPACES:
            core.create_namespace({"metadata": {"name": ns}})
        apply_manifest(admin, RBAC_MANIFEST)
        kubeconfig = cluster.write_kubeconfig(state / "worker.kubeconfig", token=WORKER_TOKEN,
                                              user=WORKER_USER)
        with cluster.api_client(WORKER_TOKEN) as worker, cluster.api_client(PROBE_TOKEN) as probe:
            yield Kube(cluster, admin, worker, probe, kubeconfig)
