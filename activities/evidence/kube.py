"""Kubernetes evidence: the service's Deployments with their rollout history and state,
pods not Ready (why, and how often they restarted), Warning events of the last hour.

Reads only; Deployments only on the allow-list. Pods and events need ``list`` in the
core API group (deploy/rbac.yaml, ClusterRole ``remediator-evidence``); without it
that part is noted, the rest kept.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from activities.evidence.found import Found
from activities.evidence.request import EvidenceRequest, Scope
from activities.evidence.suspect import LOOKBACK, SKEW, relation
from activities.kubernetes.api import KubeApi, Obj, deployment_allowed, namespace_allowed
from activities.kubernetes.rollouts import CHANGE_CAUSE, name_of, revision
from activities.kubernetes.status import DeploymentRollouts, summarise_rollouts
from activities.support.errors import MitigationRefused
from remediator.models.evidence import Change

EVENTS_WINDOW = timedelta(hours=1)
MAX_PODS = 20


def _ours(rs: Obj) -> bool:
    cause = (rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE) or ""
    return str(cause).startswith("remediator ")


def _created(obj: Obj) -> datetime:
    return datetime.fromisoformat(str(obj["metadata"]["creationTimestamp"]).replace("Z", "+00:00"))


def suspect_rollout(rsets: list[Obj], onset: datetime) -> dict[str, Any] | None:
    """The newest rollout created before onset (else the first within the clock skew
    after it), not remediator's own, and the revision before it, by ReplicaSet name:
    what ``to_revision: before_suspect`` rolls back to."""
    near = [rs for rs in rsets if onset - LOOKBACK <= _created(rs) <= onset + SKEW
            and not _ours(rs)]
    before = [rs for rs in near if _created(rs) <= onset]
    if not near:
        return None
    suspect = max(before, key=revision) if before else min(near, key=revision)
    earlier = [rs for rs in rsets if revision(rs) < revision(suspect)]
    prior = max(earlier, key=revision) if earlier else None
    return {"suspect": name_of(suspect), "suspect_revision": revision(suspect),
            "before": name_of(prior) if prior else None,
            "before_revision": revision(prior) if prior else None}


def _changes(d: DeploymentRollouts, scope: Scope, related: set[str],
             since: datetime) -> list[Change]:
    where = f"{d.namespace}/{d.deployment}"
    rel = relation(f"kubernetes:{where}", scope.targets, related)
    return [Change(at=r.created_at, kind="rollout", target=f"kubernetes:{where}",
                   summary=f"{where} rolled out {', '.join(r.images)} (revision {r.revision})",
                   by_remediator=(r.change_cause or "").startswith("remediator "), relation=rel)
            for r in d.rollouts if r.created_at >= since]


def _not_ready(pod: Obj) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    ready: Obj = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    if ready.get("status") == "True":
        return None
    containers = status.get("containerStatuses") or []
    waiting = [str((c.get("state") or {}).get("waiting", {}).get("reason") or "")
               for c in containers]
    reasons = [r for r in [str(ready.get("reason") or status.get("phase") or ""), *waiting] if r]
    return {"pod": name_of(pod), "reasons": sorted(set(reasons)),
            "restarts": sum(int(c.get("restartCount") or 0) for c in containers)}


def _event_time(event: Obj) -> datetime:
    raw = event.get("lastTimestamp") or event.get("eventTime") or event["metadata"]["creationTimestamp"]
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


class KubeEvidence:
    """The ``kubernetes`` source."""

    name = "kubernetes"

    def __init__(self, api: KubeApi, allowlist: list[str]) -> None:
        self._api = api
        self._allowlist = allowlist

    async def _deployments(self, namespace: str, scope: Scope, service: str) -> list[Obj]:
        named = sorted(d for ns, d in scope.deployments if ns == namespace)
        if named:
            return [await self._api.deployment(namespace, n) for n in named
                    if deployment_allowed(namespace, n, self._allowlist)]
        if not namespace_allowed(namespace, self._allowlist):
            return []
        return [d for d in await self._api.deployments(namespace)
                if service in name_of(d) and deployment_allowed(namespace, name_of(d), self._allowlist)]

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        if not scope.namespaces:
            return Found("no namespace in the alert or the runbook: nothing to read")
        found = Found("")
        related = {req.service, *scope.namespaces, *(d for _, d in scope.deployments)}
        parts: list[str] = []
        for ns in sorted(scope.namespaces):
            parts += await self._namespace(ns, req, scope, related, found)
        found.line = "; ".join(parts)
        return found

    async def _namespace(self, ns: str, req: EvidenceRequest, scope: Scope, related: set[str],
                         found: Found) -> list[str]:
        parts = []
        rsets = await self._api.all_replica_sets(ns)
        names = []
        for dep in await self._deployments(ns, scope, req.service):
            owned = [rs for rs in rsets if any(ref.get("uid") == dep["metadata"]["uid"]
                                               for ref in rs["metadata"].get("ownerReferences") or [])]
            summary = summarise_rollouts(dep, owned, req.onset - LOOKBACK)
            names.append(summary.deployment)
            found.changes += _changes(summary, scope, related, req.onset - LOOKBACK)
            found.detail.setdefault("deployments", []).append(summary.model_dump(mode="json"))
            if (suspect := suspect_rollout(owned, req.onset)) is not None:
                found.suspects[f"{ns}/{summary.deployment}"] = suspect
            parts.append(f"{ns}/{summary.deployment} {summary.state} at revision "
                         f"{summary.revision} ({summary.summary})")
        if not names:
            parts.append(f"{ns}: no Deployment of {req.service!r} on the allow-list")
        parts.append(await self._soft(self._pods(ns, names, found), f"{ns} pods"))
        parts.append(await self._soft(self._events(ns, req.onset, found), f"{ns} events"))
        return parts

    @staticmethod
    async def _soft(part: Any, what: str) -> str:
        """A part the worker may lack the rights for: its refusal is one line."""
        try:
            line: str = await part
        except MitigationRefused as exc:
            return f"{what} unavailable ({str(exc).splitlines()[0][:160]})"
        return line

    async def _pods(self, ns: str, deployments: list[str], found: Found) -> str:
        pods = [p for p in await self._api.pods(ns)
                if not deployments or any(name_of(p).startswith(d + "-") for d in deployments)]
        bad = [b for b in (_not_ready(p) for p in pods) if b is not None]
        found.detail.setdefault("pods_not_ready", []).extend(bad[:MAX_PODS])
        if not bad:
            return f"{ns}: all {len(pods)} pod(s) Ready"
        reasons = Counter(r for b in bad for r in b["reasons"])
        restarts = sum(b["restarts"] for b in bad)
        why = ", ".join(f"{r} ×{n}" for r, n in reasons.most_common(3))
        return f"{ns}: {len(bad)} of {len(pods)} pod(s) not Ready ({why}; {restarts} restart(s))"

    async def _events(self, ns: str, onset: datetime, found: Found) -> str:
        since = onset - EVENTS_WINDOW
        events = [e for e in await self._api.events(ns, field_selector="type=Warning")
                  if _event_time(e) >= since]
        found.detail.setdefault("warning_events", []).extend(
            {"at": _event_time(e).isoformat(), "reason": e.get("reason"),
             "object": (e.get("involvedObject") or {}).get("name"),
             "message": str(e.get("message") or "")[:300], "count": e.get("count")}
            for e in events[:50])
        if not events:
            return f"{ns}: no Warning events in the last hour"
        reasons = Counter(str(e.get("reason")) for e in events)
        top = ", ".join(f"{r} ×{n}" for r, n in reasons.most_common(3))
        return f"{ns}: {len(events)} Warning event(s) in the last hour ({top})"
