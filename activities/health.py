"""Health-signal checks used by the verify phase: a Redis key, an HTTP endpoint, or a
Kubernetes Deployment's rollout.

A check that cannot be read (connection refused, timeout, missing key) is
unhealthy: no data is never a pass.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import redis.asyncio as aioredis
from temporalio import activity

from activities.kubernetes.api import KubeApi, check_allowed
from activities.kubernetes.rollouts import current_replica_set, name_of, rollout_progress
from activities.support.errors import MitigationRefused
from remediator.models.runbook import Check
from remediator.models.verification import CheckResult


class HealthActivities:
    def __init__(self, redis_client: aioredis.Redis, http: httpx.AsyncClient,
                 kube: KubeApi | None = None, kube_allowlist: list[str] | None = None) -> None:
        self._redis = redis_client
        self._http = http
        self._kube = kube
        self._kube_allowlist = kube_allowlist or []

    async def _redis_key(self, target: str, check: Check) -> tuple[bool, str]:
        raw = await self._redis.get(target)
        value = raw.decode() if isinstance(raw, bytes) else raw
        if value is None:
            return False, f"key {target} missing"
        return value == (check.expect or "ok"), f"{target}={value!r}"

    async def _http_check(self, target: str, check: Check) -> tuple[bool, str]:
        try:
            resp = await self._http.get(target, timeout=10.0)
        except httpx.HTTPError as exc:
            return False, f"GET {target} failed: {type(exc).__name__}"
        healthy = resp.is_success and (check.expect is None or check.expect in resp.text)
        return healthy, f"GET {target} → {resp.status_code}"

    async def _rollout_check(self, target: str) -> tuple[bool, str]:
        namespace, name = target.split("/", 1)
        if self._kube is None:
            return False, f"{target}: no Kubernetes API configured"
        try:
            check_allowed(namespace, name, self._kube_allowlist)
            deployment = await self._kube.deployment(namespace, name)
            current = current_replica_set(deployment, await self._kube.replica_sets(deployment))
        except MitigationRefused as exc:  # not allowed, not found, forbidden, not configured
            return False, f"{target}: {exc}"
        # Naming the current ReplicaSet lets a ProgressDeadlineExceeded rollout read "failed".
        state, summary = rollout_progress(deployment, name_of(current) if current else None)
        return state == "complete", f"{target}: {summary}"

    @activity.defn
    async def check_health(self, check: Check) -> CheckResult:
        """Read one health signal now and say whether it is healthy."""
        target = check.target or ""  # a validated redis_key/http check always has one
        try:
            if check.source == "redis_key":
                healthy, observed = await self._redis_key(target, check)
            elif check.source == "kubernetes":
                healthy, observed = await self._rollout_check(target)
            else:
                healthy, observed = await self._http_check(target, check)
        except aioredis.RedisError as exc:
            healthy, observed = False, f"redis error: {type(exc).__name__}"
        return CheckResult(check=check, healthy=healthy, observed=observed, at=datetime.now(UTC))
