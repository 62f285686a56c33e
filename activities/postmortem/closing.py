"""An incident's closing figures, recorded once as metrics when its first postmortem
draft is stored (the one moment every incident passes through exactly once; later
edits store the document again and record nothing)."""

from __future__ import annotations

import redis.asyncio as aioredis
import redis.exceptions
import structlog

from remediator.models.incident import IncidentStatus
from remediator.models.postmortem import PostmortemInput
from remediator.telemetry.figures import figures_of
from remediator.telemetry.metrics import Metrics, severity_label

log = structlog.get_logger()
# Once per incident across workers and retries; kept long enough to outlast any retry.
SEEN_KEY = "remediator:metrics:closed:{}"
SEEN_SECONDS = 7 * 86_400


class ClosingMetrics:
    """Feeds ``Metrics`` from a closed incident's record (deduplicated in Redis)."""

    def __init__(self, metrics: Metrics, redis_client: aioredis.Redis) -> None:
        self._metrics = metrics
        self._redis = redis_client

    async def record(self, doc: PostmortemInput) -> bool:
        """True if this call recorded the incident (False: already recorded, or Redis
        is away — a missed sample beats a double count)."""
        try:
            first = await self._redis.set(SEEN_KEY.format(doc.incident_id), "1", nx=True,
                                          ex=SEEN_SECONDS)
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("metrics.close_not_recorded", incident_id=doc.incident_id, error=str(exc))
            return False
        if not first:
            return False
        m = self._metrics
        found = figures_of(doc.opened_at, doc.timeline, doc.steps,
                           resolved=doc.status == IncidentStatus.RESOLVED,
                           dry_run=any(e.kind == "mitigation.dry_run" for e in doc.timeline))
        severity = severity_label(doc.severity)
        m.incidents_closed.labels(severity, m.service(doc.service), found.outcome).inc()
        for passed in found.verifications:
            m.verifications.labels(m.runbook(found.runbook), "passed" if passed else "failed").inc()
        if found.first_mitigation_seconds is not None:
            m.time_to_first_mitigation.labels(severity).observe(found.first_mitigation_seconds)
        if found.acknowledge_seconds is not None:
            m.time_to_acknowledge.labels(severity).observe(found.acknowledge_seconds)
        if found.resolve_seconds is not None:
            m.time_to_resolve.labels(severity, found.outcome).observe(found.resolve_seconds)
        return True
