"""Kubernetes scale and restart of a Deployment, once per (incident, step).

Scale sets an absolute replica count through the ``deployments/scale`` subresource and
returns the count it replaced; the intent (old and new count) is recorded in the
remediator's Redis before the write, so a retry after a crash knows whether its write
landed. Its undo scales back only while the Deployment still has our count.

Restart is ``kubectl rollout restart``: a ``kubectl.kubernetes.io/restartedAt``
annotation on the pod template. Its timestamp is decided once per step and recorded
first, so a retry writes the same value — no change, no second rollout. A restart
cannot be undone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from temporalio import activity

from activities.errors import refusals_non_retryable, validated
from activities.kubernetes_api import KubeApi, check_allowed, fresh_reads
from activities.kubernetes_rollout import RESTARTED_AT, wait_budget, wait_for_rollout
from activities.markers import Markers
from remediator.chaos import CrashPoints
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult
from workflows.catalogue import KubeRestartParams, KubeScaleParams

log = structlog.get_logger()
NO_UNDO = "a restart cannot be undone (the old pods are gone)"


class ScaleActivities:
    """``scale_deployment`` with its undo ``restore_deployment_scale``, and ``restart_deployment``."""

    def __init__(self, api: KubeApi, state: aioredis.Redis, allowlist: list[str],
                 max_replicas: int, crash: CrashPoints) -> None:
        self._api = api
        self._scales = Markers(state, "kube-scale")
        self._restarts = Markers(state, "kube-restart")
        self._allowlist = allowlist
        self._max = max_replicas
        self._crash = crash

    def _capped(self, replicas: int) -> tuple[int, str]:
        if replicas <= self._max:
            return replicas, ""
        return self._max, f" (requested {replicas}; REMEDIATOR_KUBE_MAX_REPLICAS {self._max})"

    async def _scale_once(self, ns: str, name: str, old: int, new: int) -> None:
        """Write ``new`` while the count is still ``old``: anything else means an earlier
        attempt's write landed (or someone else scaled since), and nothing is written."""
        async def attempt() -> None:
            scale = await self._api.scale(ns, name)
            current = int(scale["spec"].get("replicas") or 0)
            if current == old and current != new:
                await self._api.patch_scale(ns, name, new, scale["metadata"]["resourceVersion"])

        await fresh_reads(attempt)

    @activity.defn
    async def scale_deployment(self, req: MitigationRequest) -> MitigationResult:
        """Scale a Deployment to an absolute count once per (incident, step), capped by
        REMEDIATOR_KUBE_MAX_REPLICAS; return the count it replaced. Dry-run sends the
        write with dryRun=All. Refused: off the allow-list, missing, or RBAC."""
        params = validated(KubeScaleParams, req.params)
        ns, name = params.namespace, params.deployment
        key = req.key
        target, note = self._capped(params.replicas)
        with refusals_non_retryable():
            check_allowed(ns, name, self._allowlist)
            if req.dry_run:
                scale = await self._api.scale(ns, name)
                await self._api.patch_scale(ns, name, target, scale["metadata"]["resourceVersion"],
                                            dry_run=True)
                return MitigationResult(
                    step_id=req.step_id, action="kubernetes.scale", applied=False, dry_run=True,
                    detail=f"would scale Deployment {ns}/{name}: {scale['spec'].get('replicas', 0)}"
                           f" → {target} replicas{note} (accepted with dryRun=All)")
            record = await self._scales.get(key)
            if record is None:
                current = int((await self._api.scale(ns, name))["spec"].get("replicas") or 0)
                record = {"old": current, "new": target, "note": note, "done": False}
                await self._scales.put(key, record)
            if not record["done"]:
                await self._scale_once(ns, name, int(record["old"]), int(record["new"]))
                self._crash.reach("kubernetes.scale_deployment.after_write")
                record["done"] = True
                await self._scales.put(key, record)
        log.info("mitigation.applied", action="kubernetes.scale", deployment=f"{ns}/{name}",
                 old=record["old"], new=record["new"])
        return MitigationResult(
            step_id=req.step_id, action="kubernetes.scale", applied=True,
            detail=f"replicas of Deployment {ns}/{name}: {record['old']} → {record['new']}"
                   f"{record['note']}",
            undo={"namespace": ns, "deployment": name, "old": record["old"],
                  "expected": record["new"]},
        )

    @activity.defn
    async def restore_deployment_scale(self, req: UndoRequest) -> UndoResult:
        """Scale back to the replaced count if the Deployment still has ours; else a conflict."""
        ns, name = str(req.undo["namespace"]), str(req.undo["deployment"])
        old, expected = int(req.undo["old"]), int(req.undo["expected"])
        where = f"{ns}/{name}"
        with refusals_non_retryable():
            check_allowed(ns, name, self._allowlist)
            current = int((await self._api.scale(ns, name))["spec"].get("replicas") or 0)
            await self._scale_once(ns, name, expected, old)
        if current not in (old, expected):
            log.warning("mitigation.undo_conflict", deployment=where, current=current)
            return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=(
                f"replicas of {where} were changed to {current} since the mitigation set "
                f"{expected}; left as is instead of clobbering it"))
        log.info("mitigation.undone", deployment=where, restored=old)
        return UndoResult(step_id=req.step_id, undone=True,
                          detail=f"replicas of Deployment {where}: {current} → {old}")

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
