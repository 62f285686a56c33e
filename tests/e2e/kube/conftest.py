"""Incidents against the session's Kubernetes control plane (``kube``, tests/conftest.py):
worker processes get the ``remediator-worker`` kubeconfig of deploy/rbac.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.kubernetes.api import KubeApi
from remediator.settings import Settings
from tests.support.kube import ALLOWLIST, MAX_REPLICAS, Kube

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test here needs the cluster (``settings`` below asks for it), wherever the
    # folder sits in the tree: mark them by this folder, not by a path spelled out.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.kube)


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
