"""``remediator_approvals_waiting`` and ``remediator_approval_oldest_wait_seconds``,
read from Temporal when Prometheus scrapes: visibility lists the incidents waiting for
approval, their queries say which steps wait and since when. Answers are cached for
``ttl`` seconds and at most ``max_incidents`` incidents are asked, so a scrape costs
Temporal a bounded amount whatever the scrape interval. Namespace-wide: every worker
reports the same figure (take the max across workers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from temporalio.client import Client

from remediator.models.incident import IncidentStatus
from workflows.incident import IncidentWorkflow
from workflows.support import search

log = structlog.get_logger()
WAITING = "remediator_approvals_waiting"
OLDEST = "remediator_approval_oldest_wait_seconds"


class ApprovalCollector(Collector):
    def __init__(self, client: Client, loop: asyncio.AbstractEventLoop, task_queue: str,
                 ttl: float = 15.0, max_incidents: int = 50, timeout: float = 5.0) -> None:
        self._client, self._loop = client, loop
        # The incidents this worker's deployment runs (several may share a namespace).
        self._task_queue = task_queue
        self._ttl, self._max, self._timeout = ttl, max_incidents, timeout
        self._at = float("-inf")
        self._waiting: int = 0
        self._since: datetime | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration asks for this; answering without Temporal keeps it cheap.
        yield from self._families(0, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Runs on the metrics server's thread; the refresh runs on the worker's loop."""
        if time.monotonic() - self._at > self._ttl:
            try:
                self._waiting, self._since = asyncio.run_coroutine_threadsafe(
                    self.read(), self._loop).result(self._timeout)
                self._at = time.monotonic()
            except Exception as exc:  # keep the last figures; the scrape still answers
                log.warning("metrics.approvals_unreadable", error=str(exc) or type(exc).__name__)
        yield from self._families(self._waiting, self._since)

    @staticmethod
    def _families(waiting: int, since: datetime | None) -> Iterator[GaugeMetricFamily]:
        oldest = (datetime.now(UTC) - since).total_seconds() if since else 0.0
        yield GaugeMetricFamily(WAITING, "Steps waiting for a human approval now.",
                                value=waiting)
        yield GaugeMetricFamily(OLDEST, "How long the longest-waiting step has waited for "
                                "approval (0: none waits).", value=max(0.0, oldest))

    async def read(self) -> tuple[int, datetime | None]:
        """(steps waiting, when the longest-waiting one asked)."""
        query = (f"WorkflowType = 'IncidentWorkflow' AND ExecutionStatus = 'Running' AND "
                 f"TaskQueue = '{self._task_queue}' AND "
                 f"{search.STATUS.name} = '{IncidentStatus.AWAITING_APPROVAL}'")
        ids = [wf.id async for wf in self._client.list_workflows(query, limit=self._max)]
        found = await asyncio.gather(*(self._waits(i) for i in ids), return_exceptions=True)
        asked = [at for result in found if not isinstance(result, BaseException) for at in result]
        return len(asked), min(asked, default=None)

    async def _waits(self, incident_id: str) -> list[datetime]:
        """When each of the incident's waiting steps asked (its ``approval.requested``)."""
        handle = self._client.get_workflow_handle(incident_id)
        pending = await handle.query(IncidentWorkflow.pending_approvals)
        timeline = (await handle.query(IncidentWorkflow.status)).timeline
        asked = []
        for step in pending:
            requests = [e.at for e in timeline if e.kind == "approval.requested"
                        and e.detail.startswith(f"{step.step_id} ")]
            asked.append(requests[-1] if requests else datetime.now(UTC))
        return asked
