"""Kubernetes rollbacks: a Deployment's pod template back to a *named* earlier revision.

The target is decided once per (incident, step) and recorded in the remediator's Redis
before the patch: a retry after a crash reads the record instead of deciding again, so
it can never flip back to the bad revision (which, once rolled back from, is the
"previous" one). The patch is conditional on the Deployment's resourceVersion (a 409
means read afresh and decide again) and is skipped when the template already matches,
so a repeated call creates no revision. The undo rolls back to the replaced revision by
its ReplicaSet's name, only while the Deployment still runs ours (compare-and-set).

Scale is in ``scale``, restart in ``restart``, reads for triage in ``status``, revisions
and rollout progress in ``rollouts``, API access in ``api`` (all of ``activities.kubernetes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import redis.asyncio as aioredis
import structlog
from pydantic import Field
from temporalio import activity

from activities.evidence.recorded import suspect_of
from activities.kubernetes.api import (
    KubeApi,
    KubeDeploymentParams,
    Obj,
    RevisionNotFound,
    check_allowed,
    fresh_reads,
)
from activities.kubernetes.rollouts import (
    CHANGE_CAUSE,
    current_replica_set,
    describe,
    fully_available,
    images,
    name_of,
    pod_template,
    revision,
    revisions,
    same_template,
    wait_budget,
    wait_for_rollout,
)
from activities.support.crash_points import CrashPoints
from activities.support.errors import Rejected, refusals_non_retryable, validated
from activities.support.markers import Markers
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult

log = structlog.get_logger()
ACTION = "kubernetes.rollout_undo"


BEFORE_SUSPECT = "before_suspect"


class RolloutUndoParams(KubeDeploymentParams):
    """Roll the Deployment back to revision ``to_revision`` — ``before_suspect``: the
    revision before the rollout triage found suspect (README "Evidence"); unset: the
    newest earlier revision that completed its rollout — and wait up to ``wait_seconds``."""

    to_revision: Annotated[int, Field(ge=1)] | Literal["before_suspect"] | None = None
    wait_seconds: float = Field(300.0, ge=0)

    def describe(self) -> str:
        to = f"revision {self.to_revision}" if self.to_revision else "the last good revision"
        return f"roll back {self.namespace}/{self.deployment} to {to}"


@dataclass(frozen=True)
class RollbackPlan:
    """Which ReplicaSet to roll back to, and why; ``current`` is what it replaces."""

    target: Obj
    current: Obj | None
    reason: str

    @property
    def noop(self) -> bool:
        return self.current is not None and name_of(self.current) == name_of(self.target)


def plan_rollback(deployment: Obj, rsets: list[Obj], to_revision: int | None) -> RollbackPlan:
    """The named revision, else the newest other revision still fully available (the
    good one a stuck rollout left serving), else the newest other revision."""
    current = current_replica_set(deployment, rsets)
    where = f"{deployment['metadata']['namespace']}/{name_of(deployment)}"
    known = ", ".join(str(n) for n in sorted({n for rs in rsets for n in revisions(rs)}))
    if to_revision is not None:
        named = [rs for rs in rsets if to_revision in revisions(rs)]
        if not named:
            raise RevisionNotFound(f"Deployment {where} has no revision {to_revision} "
                                   f"(known revisions: {known or 'none'})")
        return RollbackPlan(named[0], current, f"revision {to_revision} as named by the step")
    others = sorted((rs for rs in rsets if not same_template(rs, deployment)),
                    key=revision, reverse=True)
    if not others:
        raise RevisionNotFound(f"Deployment {where} has no earlier revision to roll back to "
                               f"(known revisions: {known or 'none'})")
    serving = [rs for rs in others if fully_available(rs)]
    if serving:
        return RollbackPlan(serving[0], current, "newest earlier revision still fully available")
    return RollbackPlan(others[0], current,
                        "newest earlier revision (no earlier revision is still serving)")


def rollback_patch(deployment: Obj, target: Obj, cause: str) -> list[Obj]:
    """kubectl's rollback as a JSON patch, conditional on the version we read (else 409)."""
    annotations = {**(deployment["metadata"].get("annotations") or {}), CHANGE_CAUSE: cause}
    return [
        {"op": "replace", "path": "/metadata/resourceVersion",
         "value": deployment["metadata"]["resourceVersion"]},
        {"op": "replace", "path": "/spec/template", "value": pod_template(target)},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]


def _record(plan: RollbackPlan) -> dict[str, Any]:
    current = plan.current
    return {"target": name_of(plan.target), "target_revision": revision(plan.target),
            "target_images": images(plan.target["spec"]["template"]),
            "replaced": name_of(current) if current else None,
            "replaced_revision": revision(current) if current else None,
            "replaced_images": images(current["spec"]["template"]) if current else None,
            "reason": plan.reason, "noop": plan.noop, "done": False}


def _find(rsets: list[Obj], name: str, where: str) -> Obj:
    found = next((rs for rs in rsets if name_of(rs) == name), None)
    if found is None:
        raise RevisionNotFound(f"ReplicaSet {name} of Deployment {where} is gone "
                               "(pruned by revisionHistoryLimit?)")
    return found


class RolloutActivities:
    """``rollback_deployment`` and its undo ``restore_deployment_revision``."""

    def __init__(self, api: KubeApi, state: aioredis.Redis, allowlist: list[str],
                 crash: CrashPoints) -> None:
        self._api = api
        self._state = state
        self._markers = Markers(state, "kube-rollback")
        self._allowlist = allowlist
        self._crash = crash

    async def _history(self, namespace: str, name: str) -> tuple[Obj, list[Obj]]:
        deployment = await self._api.deployment(namespace, name)
        return deployment, await self._api.replica_sets(deployment)

    async def _roll_to(self, namespace: str, name: str, target: str, expect: str | None,
                       cause: str) -> bool:
        """Patch the template to ReplicaSet ``target``'s unless it is there already; only
        while the Deployment still runs ``expect`` (when given). False: changed by others."""
        async def attempt() -> bool:
            deployment, rsets = await self._history(namespace, name)
            where = f"{namespace}/{name}"
            wanted = _find(rsets, target, where)
            if same_template(wanted, deployment):
                return True
            if expect is not None and not same_template(_find(rsets, expect, where), deployment):
                return False
            await self._api.patch_deployment(namespace, name,
                                             rollback_patch(deployment, wanted, cause))
            return True

        return await fresh_reads(attempt)

    async def _named_revision(self, req: MitigationRequest, params: RolloutUndoParams,
                              rsets: list[Obj]) -> tuple[int | None, str | None]:
        """The step's ``to_revision`` as a number (and why), ``before_suspect`` resolved
        from what triage recorded for this occurrence."""
        if params.to_revision != BEFORE_SUSPECT:
            assert not isinstance(params.to_revision, str)
            return params.to_revision, None
        where = f"{params.namespace}/{params.deployment}"
        found = await suspect_of(self._state, req.occurrence or req.incident_id, where)
        if found is None or not found.get("before"):
            raise RevisionNotFound(
                f"to_revision: before_suspect, but triage found no suspect rollout of {where} "
                "with an earlier revision (no rollout in the 24 h before onset)")
        before = _find(rsets, str(found["before"]), where)
        return revision(before), (f"revision {revision(before)}, the one before the suspect "
                                  f"rollout {found['suspect']} (revision {found['suspect_revision']})")

    async def _plan(self, req: MitigationRequest, params: RolloutUndoParams, deployment: Obj,
                    rsets: list[Obj]) -> RollbackPlan:
        number, why = await self._named_revision(req, params, rsets)
        plan = plan_rollback(deployment, rsets, number)
        return plan if why is None else RollbackPlan(plan.target, plan.current, why)

    async def _dry_run(self, req: MitigationRequest, params: RolloutUndoParams) -> MitigationResult:
        deployment, rsets = await self._history(params.namespace, params.deployment)
        plan = await self._plan(req, params, deployment, rsets)
        where = f"{params.namespace}/{params.deployment}"
        if plan.noop:
            detail = f"would change nothing: {where} already runs {describe(plan.target)}"
        else:
            await self._api.patch_deployment(
                params.namespace, params.deployment,
                rollback_patch(deployment, plan.target, "dry run"), dry_run=True)
            now = describe(plan.current) if plan.current else "an unrecorded template"
            detail = (f"would roll {where} back from {now} to {describe(plan.target)} "
                      f"[{plan.reason}]: the pod template of ReplicaSet {name_of(plan.target)}"
                      " (accepted by the API server with dryRun=All)")
        return MitigationResult(step_id=req.step_id, action=ACTION, applied=False, dry_run=True,
                                detail=detail)

    async def _decide(self, req: MitigationRequest, params: RolloutUndoParams) -> dict[str, Any]:
        """The step's record: decided by an earlier attempt, or now (and stored first)."""
        record = await self._markers.get(req.key)
        if record is None:
            deployment, rsets = await self._history(params.namespace, params.deployment)
            record = _record(await self._plan(req, params, deployment, rsets))
            await self._markers.put(req.key, record)
        return record

    @activity.defn
    async def rollback_deployment(self, req: MitigationRequest) -> MitigationResult:
        """Roll a Deployment back to a named revision once per (incident, step); wait for it.

        The target is the step's ``to_revision``, else the newest earlier revision still
        fully available, else the newest earlier one. Returns the revision it replaced,
        by ReplicaSet name, for the undo. Dry-run sends the patch with dryRun=All and
        changes nothing. Refused (non-retryable): off the allow-list (NotAllowed), no
        such Deployment or revision (ResourceNotFound, RevisionNotFound), RBAC (AuthFailed).
        """
        params = validated(RolloutUndoParams, req.params)
        ns, name = params.namespace, params.deployment
        key = req.key
        with refusals_non_retryable():
            check_allowed(ns, name, self._allowlist)
            if req.dry_run:
                return await self._dry_run(req, params)
            record = await self._decide(req, params)
            if not record["done"]:
                cause = f"remediator rollback {key} to {record['target']}"
                if not await self._roll_to(ns, name, record["target"], record["replaced"], cause):
                    raise Rejected(f"Deployment {ns}/{name} was changed by someone else after "
                                   f"this step chose revision {record['target_revision']}; "
                                   "not rolling back over that change")
                self._crash.reach("kubernetes.rollback_deployment.after_write")
                record["done"] = True
                await self._markers.put(key, record)
            state, progress = await wait_for_rollout(self._api, ns, name,
                                                     wait_budget(params.wait_seconds),
                                                     new_rs=record["target"])
        return self._result(req, params, record, state, progress)

    def _result(self, req: MitigationRequest, params: RolloutUndoParams, record: dict[str, Any],
                state: str, progress: str) -> MitigationResult:
        where = f"{params.namespace}/{params.deployment}"
        target = f"revision {record['target_revision']} ({record['target_images']})"
        log.info("mitigation.applied", action=ACTION, deployment=where, target=record["target"],
                 replaced=record["replaced"], rollout=state)
        if record["noop"] or record["replaced"] is None:
            return MitigationResult(step_id=req.step_id, action=ACTION, applied=True,
                                    detail=f"{where} already ran {target}; nothing rolled back "
                                           f"(rollout {state}: {progress})")
        return MitigationResult(
            step_id=req.step_id, action=ACTION, applied=True,
            detail=f"rolled {where} back from revision {record['replaced_revision']} "
                   f"({record['replaced_images']}) to {target}, ReplicaSet {record['target']} "
                   f"[{record['reason']}]; rollout {state}: {progress}",
            undo={"namespace": params.namespace, "deployment": params.deployment,
                  "revert_to": record["replaced"], "revert_to_revision": record["replaced_revision"],
                  "expected": record["target"], "wait_seconds": params.wait_seconds},
        )

    @activity.defn
    async def restore_deployment_revision(self, req: UndoRequest) -> UndoResult:
        """Roll forward to the revision the rollback replaced (by ReplicaSet name), only
        while the Deployment still runs the rollback's revision; else report a conflict."""
        ns, name = str(req.undo["namespace"]), str(req.undo["deployment"])
        revert_to, expected = str(req.undo["revert_to"]), str(req.undo["expected"])
        where = f"{ns}/{name}"
        with refusals_non_retryable():
            check_allowed(ns, name, self._allowlist)
            cause = f"remediator undo {req.incident_id}:{req.step_id} to {revert_to}"
            if not await self._roll_to(ns, name, revert_to, expected, cause):
                log.warning("mitigation.undo_conflict", deployment=where)
                return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=(
                    f"{where} no longer runs ReplicaSet {expected} (changed since the rollback);"
                    " left as is instead of clobbering it"))
            state, progress = await wait_for_rollout(
                self._api, ns, name, wait_budget(float(req.undo.get("wait_seconds", 300))),
                new_rs=revert_to)
        log.info("mitigation.undone", deployment=where, restored=revert_to, rollout=state)
        return UndoResult(step_id=req.step_id, undone=True, detail=(
            f"{where} back on ReplicaSet {revert_to} (was revision "
            f"{req.undo.get('revert_to_revision')}); rollout {state}: {progress}"))
