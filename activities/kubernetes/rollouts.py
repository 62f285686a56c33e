"""Deployment revision history and rollout progress, read as ``kubectl rollout`` reads them.

apps/v1 has no rollback endpoint: ``kubectl rollout undo`` copies a ReplicaSet's pod
template (minus its ``pod-template-hash`` label) back into the Deployment. A
ReplicaSet's revision is its ``deployment.kubernetes.io/revision`` annotation; when an
old template comes back, its ReplicaSet gets the next revision number and keeps the
old ones in ``deployment.kubernetes.io/revision-history`` — which is why a rollback
must name its target ReplicaSet, never "the previous revision".
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, Literal

from temporalio import activity

from activities.kubernetes.api import KubeApi, Obj

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
HASH_LABEL = "pod-template-hash"
CHANGE_CAUSE = "kubernetes.io/change-cause"
DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
# Time an activity keeps for itself after its rollout wait, inside its start-to-close.
WAIT_MARGIN_SECONDS = 10.0

RolloutState = Literal["complete", "progressing", "failed"]


def name_of(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def revision(obj: Obj) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(REVISION) or 0)


def revisions(rs: Obj) -> set[int]:
    """Every revision number this ReplicaSet has had (it is renumbered when rolled back to)."""
    history = (rs["metadata"].get("annotations") or {}).get(HISTORY) or ""
    return {revision(rs), *(int(n) for n in history.split(",") if n.strip().isdigit())}


def pod_template(rs: Obj) -> Obj:
    """The ReplicaSet's pod template as its Deployment would hold it."""
    template: Obj = copy.deepcopy(rs["spec"]["template"])
    (template.get("metadata", {}).get("labels") or {}).pop(HASH_LABEL, None)
    return template


def same_template(rs: Obj, deployment: Obj) -> bool:
    return bool(pod_template(rs) == deployment["spec"]["template"])


def images(template: Obj) -> str:
    containers = template.get("spec", {}).get("containers") or []
    return ", ".join(str(c.get("image")) for c in containers)


def describe(rs: Obj) -> str:
    return f"revision {revision(rs)} ({images(rs['spec']['template'])})"


def fully_available(rs: Obj) -> bool:
    """Every replica available right now: the ReplicaSet completed its rollout."""
    want = int(rs["spec"].get("replicas") or 0)
    return want > 0 and int(rs.get("status", {}).get("availableReplicas") or 0) >= want


def current_replica_set(deployment: Obj, rsets: list[Obj]) -> Obj | None:
    return next((rs for rs in rsets if same_template(rs, deployment)), None)


def _progressing(status: dict[str, Any]) -> dict[str, Any]:
    conditions = status.get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Progressing"), {})


def rollout_progress(deployment: Obj, new_rs: str | None = None) -> tuple[RolloutState, str]:
    """("complete" | "progressing" | "failed", summary), as ``kubectl rollout status``.

    ``ProgressDeadlineExceeded`` ends a rollout only when it names ``new_rs``: the
    condition of an earlier, failed rollout lingers until the new one makes progress.
    """
    meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status", {})
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "progressing", "waiting for the controller to observe the new spec"
    cond = _progressing(status)
    if new_rs and cond.get("reason") == DEADLINE_EXCEEDED and f'"{new_rs}"' in cond.get("message", ""):
        return "failed", str(cond.get("message"))
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total, available = int(status.get("replicas") or 0), int(status.get("availableReplicas") or 0)
    if updated < want:
        return "progressing", f"{updated} of {want} new replicas updated"
    if total > updated:
        return "progressing", f"{total - updated} old replicas pending termination"
    if available < updated:
        return "progressing", f"{available} of {updated} updated replicas available"
    return "complete", f"rolled out: {available} of {want} replicas available"


def wait_budget(wait_seconds: float) -> float:
    """How long this activity may wait: the step's ``wait_seconds``, within its timeout."""
    timeout = activity.info().start_to_close_timeout
    if timeout is None:
        return wait_seconds
    return max(0.0, min(wait_seconds, timeout.total_seconds() - WAIT_MARGIN_SECONDS))


async def wait_for_rollout(api: KubeApi, namespace: str, name: str, budget: float,
                           new_rs: str | None = None, every: float = 1.0
                           ) -> tuple[RolloutState, str]:
    """Poll the Deployment until its rollout completes, fails, or ``budget`` runs out,
    heartbeating each poll so that a lost worker is noticed within the heartbeat timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    while True:
        state, summary = rollout_progress(await api.deployment(namespace, name), new_rs)
        activity.heartbeat(summary)
        if state != "progressing":
            return state, summary
        if loop.time() >= deadline:
            return "progressing", f"still rolling out after {budget:.0f}s: {summary}"
        await asyncio.sleep(min(every, max(0.0, deadline - loop.time())))
