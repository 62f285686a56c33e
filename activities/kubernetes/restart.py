"""Kubernetes restart of a Deployment's pods, as ``kubectl rollout restart`` does it.

Restart is a ``kubectl.kubernetes.io/restartedAt`` annotation on the pod template. Its
timestamp is decided once per (incident, step) and recorded in the remediator's Redis
first, so a retry writes the same value — no change, no second rollout. A restart
cannot be undone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from pydantic import Field
from temporalio import activity

from activities.kubernetes.api import KubeApi, KubeDeploymentParams, check_allowed, fresh_reads
from activities.kubernetes.rollouts import wait_budget, wait_for_rollout
from activities.support.crash_points import CrashPoints
from activities.support.errors import refusals_non_retryable, validated
from activities.support.markers import Markers
from remediator.models.mitigation import MitigationRequest, MitigationResult

log = structlog.get_logger()
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
NO_UNDO = "a restart cannot be undone (the old pods are gone)"


class KubeRestartParams(KubeDeploymentParams):
    """Restart the Deployment's pods as ``kubectl rollout restart`` does; wait up to
    ``wait_seconds`` for the new pods."""

    wait_seconds: float = Field(300.0, ge=0)


class RestartActivities:
    """``restart_deployment`` (no undo: the replaced pods are gone)."""

    def __init__(self, api: KubeApi, state: aioredis.Redis, allowlist: list[str],
                 crash: CrashPoints) -> None:
        self._api = api
        self._restarts = Markers(state, "kube-restart")
        self._allowlist = allowlist
        self._crash = crash

    def _restart_patch(self, at: str, resource_version: str | None) -> dict[str, Any]:
        patch: dict[str, Any] = {"spec": {"template": {"metadata": {"annotations": {
            RESTARTED_AT: at}}}}}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        return patch

    async def _restart_once(self, ns: str, name: str, at: str) -> None:
        async def attempt() -> None:
            deployment = await self._api.deployment(ns, name)
            annotations = deployment["spec"]["template"].get("metadata", {}).get("annotations") or {}
            if annotations.get(RESTARTED_AT) != at:
                await self._api.patch_deployment(
                    ns, name, self._restart_patch(at, deployment["metadata"]["resourceVersion"]))

        await fresh_reads(attempt)

    @activity.defn
    async def restart_deployment(self, req: MitigationRequest) -> MitigationResult:
        """Rolling restart of a Deployment's pods, once per (incident, step); waits for the
        rollout. Dry-run sends the patch with dryRun=All. Cannot be undone."""
        params = validated(KubeRestartParams, req.params)
        ns, name = params.namespace, params.deployment
        key = req.key
        with refusals_non_retryable():
            check_allowed(ns, name, self._allowlist)
            if req.dry_run:
                at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                deployment = await self._api.patch_deployment(
                    ns, name, self._restart_patch(at, None), dry_run=True)
                return MitigationResult(
                    step_id=req.step_id, action="kubernetes.restart", applied=False, dry_run=True,
                    detail=f"would restart Deployment {ns}/{name}: pod template annotation "
                           f"{RESTARTED_AT}={at}, replacing all {deployment['spec'].get('replicas')}"
                           " pods by a rolling update (accepted with dryRun=All)")
            record = await self._restarts.get(key)
            if record is None:
                record = {"at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "done": False}
                await self._restarts.put(key, record)
            if not record["done"]:
                await self._restart_once(ns, name, str(record["at"]))
                self._crash.reach("kubernetes.restart_deployment.after_write")
                record["done"] = True
                await self._restarts.put(key, record)
            state, progress = await wait_for_rollout(self._api, ns, name,
                                                     wait_budget(params.wait_seconds))
        log.info("mitigation.applied", action="kubernetes.restart", deployment=f"{ns}/{name}",
                 restarted_at=record["at"], rollout=state)
        return MitigationResult(
            step_id=req.step_id, action="kubernetes.restart", applied=True,
            detail=f"restarted Deployment {ns}/{name} ({RESTARTED_AT}={record['at']}); "
                   f"rollout {state}: {progress}; {NO_UNDO}")
