"""Kubernetes scale of a Deployment to an absolute count, once per (incident, step).

Scale sets an absolute replica count through the ``deployments/scale`` subresource and
returns the count it replaced; the intent (old and new count) is recorded in the
remediator's Redis before the write, so a retry after a crash knows whether its write
landed. Its undo scales back only while the Deployment still has our count.
"""

from __future__ import annotations

import redis.asyncio as aioredis
import structlog
from pydantic import Field
from temporalio import activity

from activities.kubernetes.api import KubeApi, KubeDeploymentParams, check_allowed, fresh_reads
from activities.support.crash_points import CrashPoints
from activities.support.errors import refusals_non_retryable, validated
from activities.support.markers import Markers
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult

log = structlog.get_logger()


class KubeScaleParams(KubeDeploymentParams):
    """Scale the Deployment to ``replicas`` (absolute; capped by REMEDIATOR_KUBE_MAX_REPLICAS)."""

    replicas: int = Field(ge=0)

    def describe(self) -> str:
        return f"scale {self.namespace}/{self.deployment} to {self.replicas} replica(s)"


class ScaleActivities:
    """``scale_deployment`` with its undo ``restore_deployment_scale``."""

    def __init__(self, api: KubeApi, state: aioredis.Redis, allowlist: list[str],
                 max_replicas: int, crash: CrashPoints) -> None:
        self._api = api
        self._scales = Markers(state, "kube-scale")
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
