"""A real Kubernetes control plane for the session: etcd + kube-apiserver + the
Deployment/ReplicaSet controllers, a simulated node, and deploy/rbac.yaml applied.

The worker side only ever gets the ``remediator-worker`` token, which nothing but
deploy/rbac.yaml binds; setup uses the admin token. ``sandbox`` is on the worker's
allow-list but not bound by the manifest, so RBAC — not the allow-list — refuses there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import yaml
from kubernetes import utils
from kubernetes.client import ApiClient, CoreV1Api
from temporalio.testing import ActivityEnvironment

from activities.kubernetes.api import KubeApi
from activities.kubernetes.rollback import RolloutActivities
from activities.kubernetes.scale import ScaleActivities
from activities.kubernetes.status import KubeStatusActivities
from activities.support.crash_points import CrashPoints
from remediator.devstack.kube_cluster import KubeCluster, find_kube_binaries, kube_cache_dir
from remediator.devstack.node_sim import NodeSim
from remediator.settings import Settings

RBAC_MANIFEST = Path(__file__).parents[2] / "deploy" / "rbac.yaml"
WORKER_USER = "remediator-worker"
WORKER_TOKEN = "remediator-worker-token-0123456789"
PROBE_USER = "rbac-probe"
PROBE_TOKEN = "rbac-probe-token-0123456789abcdef"
# production and staging are bound by deploy/rbac.yaml; sandbox is allow-listed only.
NAMESPACES = ("production", "staging", "sandbox", "probe")
ALLOWLIST = ["production/*", "staging/*", "sandbox/*", "probe/*"]
MAX_REPLICAS = 6


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kube/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.kube)


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


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    if find_kube_binaries() is None:
        pytest.skip(f"kube-apiserver/kube-controller-manager not cached in {kube_cache_dir()} "
                    "or etcd missing: run scripts/build-kube.sh")
    state = tmp_path_factory.mktemp("kube")
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


@pytest.fixture
def settings(settings: Settings, kube: Kube) -> Settings:
    """The session's settings with the worker's kubeconfig (worker processes get it too)."""
    return settings.model_copy(update={
        "kubeconfig": str(kube.worker_kubeconfig),
        "kube_allowlist": ALLOWLIST,
        "kube_max_replicas": MAX_REPLICAS,
        "sticky_timeout_seconds": 1.0,
    })


@pytest.fixture
def worker_api(kube: Kube) -> KubeApi:
    return KubeApi(kube.worker)


@pytest.fixture
def rollouts(worker_api: KubeApi, state: aioredis.Redis) -> RolloutActivities:
    return RolloutActivities(worker_api, state, ALLOWLIST, CrashPoints(None))


@pytest.fixture
def scaling(worker_api: KubeApi, state: aioredis.Redis) -> ScaleActivities:
    return ScaleActivities(worker_api, state, ALLOWLIST, MAX_REPLICAS, CrashPoints(None))


@pytest.fixture
def kube_status(worker_api: KubeApi) -> KubeStatusActivities:
    return KubeStatusActivities(worker_api, ALLOWLIST)


@pytest.fixture
def activity_env() -> ActivityEnvironment:
    """Temporal's activity environment with a start-to-close long enough for rollouts."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, start_to_close_timeout=timedelta(seconds=120),
                                   heartbeat_timeout=timedelta(seconds=10))
    return env
