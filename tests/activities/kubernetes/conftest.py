"""The Kubernetes activities on the session's control plane (``kube``, tests/conftest.py),
as the worker runs them: with the ``remediator-worker`` token of deploy/rbac.yaml."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from temporalio.testing import ActivityEnvironment

from activities.kubernetes.api import KubeApi
from activities.kubernetes.restart import RestartActivities
from activities.kubernetes.rollback import RolloutActivities
from activities.kubernetes.scale import ScaleActivities
from activities.kubernetes.status import KubeStatusActivities
from activities.support.crash_points import CrashPoints
from tests.support.kube import ALLOWLIST, MAX_REPLICAS, Kube


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
def restarts(worker_api: KubeApi, state: aioredis.Redis) -> RestartActivities:
    return RestartActivities(worker_api, state, ALLOWLIST, CrashPoints(None))


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
