"""deploy/rbac.yaml is sufficient and minimal; the allow-list and RBAC both refuse.

Every other test in this directory already acts with the worker's own token, bound
only by the manifest (sufficient). Here: RBAC's refusals are non-retryable, the rights
the manifest grants are exactly those listed, and each one of them is needed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
import yaml
from kubernetes.client import AuthorizationV1Api, RbacAuthorizationV1Api
from kubernetes.client.exceptions import ApiException
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.kubernetes.api import KubeApi
from activities.kubernetes.restart import RestartActivities
from activities.kubernetes.rollback import RolloutActivities
from activities.kubernetes.scale import ScaleActivities
from activities.kubernetes.status import KubeStatusActivities, RecentRolloutsRequest
from activities.support.crash_points import CrashPoints
from tests.support.kube import ALLOWLIST, MAX_REPLICAS, PROBE_USER, RBAC_MANIFEST, Kube
from tests.support.kube_deployments import BAD, GOOD, Deployments, apply_req, new_name, refused, undo_req
from tests.support.polling import eventually

GRANTED = {("deployments", "get"), ("deployments", "list"), ("deployments", "patch"),
           ("deployments/scale", "get"), ("deployments/scale", "patch"), ("replicasets", "list")}


def _manifest_rules() -> list[dict[str, Any]]:
    docs = list(yaml.safe_load_all(RBAC_MANIFEST.read_text()))
    [role] = [d for d in docs if d and d["kind"] == "ClusterRole"
              and d["metadata"]["name"] == "remediator-worker"]
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def test_the_manifest_grants_exactly_what_the_activities_use() -> None:
    granted = {(res, verb) for rule in _manifest_rules() for res in rule["resources"]
               for verb in rule["verbs"]}
    assert granted == GRANTED
    assert all(rule["apiGroups"] == ["apps"] for rule in _manifest_rules())


def test_the_worker_holds_those_rights_in_bound_namespaces_only(kube: Kube) -> None:
    auth = AuthorizationV1Api(kube.worker)

    def apps_rights(namespace: str) -> set[tuple[str, str]]:
        review = auth.create_self_subject_rules_review({"spec": {"namespace": namespace}})
        return {(res, verb) for rule in review.status.resource_rules
                if "apps" in (rule.api_groups or []) for res in rule.resources or []
                for verb in rule.verbs}

    assert apps_rights("production") == GRANTED
    assert apps_rights("staging") == GRANTED
    assert apps_rights("sandbox") == set()
    assert apps_rights("kube-system") == set()


async def test_off_the_allow_list_is_refused_before_any_call(
    rollouts: RolloutActivities, scaling: ScaleActivities, restarts: RestartActivities,
    kube_status: KubeStatusActivities, activity_env: ActivityEnvironment,
) -> None:
    params = {"namespace": "kube-system", "deployment": "coredns"}
    await refused(activity_env, rollouts.rollback_deployment, apply_req("x", "s", params),
                  "NotAllowed")
    await refused(activity_env, scaling.scale_deployment,
                  apply_req("x", "s", {**params, "replicas": 0}), "NotAllowed")
    await refused(activity_env, restarts.restart_deployment, apply_req("x", "s", params, True),
                  "NotAllowed")
    await refused(activity_env, kube_status.recent_rollouts,
                  RecentRolloutsRequest(namespace="kube-system"), "NotAllowed")


async def test_rbac_refuses_where_the_manifest_binds_nothing(
    kube: Kube, rollouts: RolloutActivities, scaling: ScaleActivities,
    restarts: RestartActivities, kube_status: KubeStatusActivities,
    activity_env: ActivityEnvironment,
) -> None:
    deps, name = Deployments(kube.admin, "sandbox"), new_name()  # allow-listed, not bound
    await deps.create(name, GOOD)
    await deps.deploy(name, BAD)
    params = {"namespace": "sandbox", "deployment": name}
    calls: list[tuple[Any, Any]] = [
        (rollouts.rollback_deployment, apply_req(name, "s", params)),
        (rollouts.rollback_deployment, apply_req(name, "s", params, dry_run=True)),
        (scaling.scale_deployment, apply_req(name, "s", {**params, "replicas": 3})),
        (restarts.restart_deployment, apply_req(name, "s", params)),
        (scaling.restore_deployment_scale,
         undo_req(name, "s", {**params, "old": 2, "expected": 3})),
        (kube_status.recent_rollouts, RecentRolloutsRequest(namespace="sandbox")),
    ]
    for fn, arg in calls:
        error = await refused(activity_env, fn, arg, "AuthFailed")
        assert "403" in error.message and 'User "remediator-worker" cannot' in error.message
    assert deps.image(name) == BAD and deps.read(name).spec.replicas == 2


async def test_a_missing_deployment_is_not_found(
    rollouts: RolloutActivities, activity_env: ActivityEnvironment
) -> None:
    await refused(activity_env, rollouts.rollback_deployment,
                  apply_req("x", "s", {"namespace": "production", "deployment": "nope"}),
                  "ResourceNotFound")


# -- each right is needed: a probe user bound to the manifest's role minus one right ------

def _rules_without(resource: str, verb: str) -> list[dict[str, Any]]:
    rules = []
    for rule in _manifest_rules():
        for res in rule["resources"]:
            verbs = [v for v in rule["verbs"] if (res, v) != (resource, verb)]
            if verbs:
                rules.append({"apiGroups": rule["apiGroups"], "resources": [res], "verbs": verbs})
    return rules


class Probe:
    """The probe user's activities, and its RoleBinding in namespace ``probe``."""

    def __init__(self, kube: Kube, state: aioredis.Redis) -> None:
        api = KubeApi(kube.probe)
        self.rollouts = RolloutActivities(api, state, ALLOWLIST, CrashPoints(None))
        self.scaling = ScaleActivities(api, state, ALLOWLIST, MAX_REPLICAS, CrashPoints(None))
        self.restarts = RestartActivities(api, state, ALLOWLIST, CrashPoints(None))
        self.status = KubeStatusActivities(api, ALLOWLIST)
        self.rbac = RbacAuthorizationV1Api(kube.admin)
        self.auth = AuthorizationV1Api(kube.probe)

    def bind(self, role: str, rules: list[dict[str, Any]]) -> None:
        self.rbac.create_cluster_role({"metadata": {"name": role}, "rules": rules})
        try:
            self.rbac.delete_namespaced_role_binding("probe", "probe")
        except ApiException as exc:
            if exc.status != 404:
                raise
        self.rbac.create_namespaced_role_binding("probe", {
            "metadata": {"name": "probe"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io",
                          "name": PROBE_USER}]})

    def allowed(self, resource: str, verb: str) -> bool:
        res, _, sub = resource.partition("/")
        review = self.auth.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "namespace": "probe", "group": "apps", "resource": res, "subresource": sub,
            "verb": verb}}})
        return bool(review.status.allowed)

    async def rights_are(self, missing: tuple[str, str] | None) -> None:
        def matches() -> bool:
            return all(self.allowed(*right) == (right != missing) for right in GRANTED)

        async def probe() -> bool:
            return await asyncio.to_thread(matches)

        await eventually(probe, timeout=20, what=f"RBAC to drop {missing}")

    async def refusals(self, env: ActivityEnvironment, name: str) -> list[str]:
        """Run every activity that reads or (dry-)writes; the error types they raise."""
        params = {"namespace": "probe", "deployment": name}
        calls: list[tuple[Any, Any]] = [
            (self.rollouts.rollback_deployment, apply_req(name, "s", params, dry_run=True)),
            (self.scaling.scale_deployment, apply_req(name, "s", {**params, "replicas": 3}, True)),
            (self.restarts.restart_deployment, apply_req(name, "s", params, dry_run=True)),
            (self.status.recent_rollouts, RecentRolloutsRequest(namespace="probe")),
            (self.status.recent_rollouts, RecentRolloutsRequest(namespace="probe",
                                                                deployment=name)),
        ]
        errors = []
        for fn, arg in calls:
            try:
                await env.run(fn, arg)
            except ApplicationError as exc:
                errors.append(str(exc.type))
        return errors


@pytest.mark.parametrize("missing", sorted(GRANTED))
async def test_every_right_of_the_manifest_is_needed(
    kube: Kube, state: aioredis.Redis, activity_env: ActivityEnvironment,
    missing: tuple[str, str],
) -> None:
    probe, deps, name = Probe(kube, state), Deployments(kube.admin, "probe"), new_name()
    await deps.create(name, GOOD)
    await deps.deploy(name, "registry.local/api:2.0")
    suffix = name.removeprefix("api-")
    probe.bind(f"probe-full-{suffix}", _manifest_rules())
    await probe.rights_are(None)
    assert await probe.refusals(activity_env, name) == []  # the full role suffices

    probe.bind(f"probe-minus-{suffix}", _rules_without(*missing))
    await probe.rights_are(missing)

    assert "AuthFailed" in await probe.refusals(activity_env, name)
