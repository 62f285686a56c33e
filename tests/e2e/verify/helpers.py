"""The service under incident, its metrics, and an incident driven by a test.

``App`` plays the broken service: it publishes a bad error ratio and latency until
its feature flag is off (or forever, when nothing can fix it), as a real app whose
metrics a mitigation changes. Publishing is to the test exporter (Prometheus) or
to CloudWatch (moto).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.models.incident import TimelineEntry
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import WindowOpened, wait_done, window_opened
from tests.support.polling import eventually
from tests.support.prometheus import MetricsExporter, PrometheusServer
from workflows.incident_models import IncidentView

# The session settings of this folder (conftest.py): a short verify window, polled often.
WINDOW = 4.0
INTERVAL = 0.5
FLAGS = "remediator:flags:production"
HEALTHY = {"app_error_ratio": 0.01, "app_latency_seconds": 0.1}
BROKEN = {"app_error_ratio": 0.5, "app_latency_seconds": 2.0}
NAMESPACE = "Remediator/Test"

Publish = Callable[[dict[str, float]], Awaitable[None]]


class Incident:
    """One test case's incident: its ``case`` label names its series, flags and keys."""

    def __init__(self, client: Client, settings: Settings, alertname: str) -> None:
        self.client = client
        self.incidents = Incidents(client, settings.task_queue)
        self.alertname = alertname
        self.case = uuid.uuid4().hex[:8]
        self.id = ""

    async def open(self, starts_at: datetime) -> str:
        payload = alertmanager_payload(self.alertname, case=self.case)
        payload["alerts"][0]["startsAt"] = starts_at.isoformat()
        batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
        self.id = (await self.incidents.open_or_join(batch)).id
        return self.id

    async def view(self) -> IncidentView:
        return await self.incidents.view(self.id)

    async def window_opened(self) -> WindowOpened:
        return await window_opened(self.client, self.id)

    async def entry(self, kind: str, timeout: float = 60) -> TimelineEntry:
        async def probe() -> TimelineEntry | None:
            return next((e for e in (await self.view()).timeline if e.kind == kind), None)

        return await eventually(probe, timeout=timeout, what=f"{kind} in {self.id}")

    async def status(self, status: str, timeout: float = 60) -> IncidentView:
        async def probe() -> IncidentView | None:
            view = await self.view()
            return view if view.status == status else None

        return await eventually(probe, timeout=timeout, what=f"{self.id} {status}")

    async def done(self, timeout: float = 90) -> IncidentView:
        return await wait_done(self.incidents, self.id, timeout=timeout)


@asynccontextmanager
async def app(publish: Publish, redis_client: aioredis.Redis,
              fixed_by: str | None) -> AsyncIterator[None]:
    """The service: broken until flag ``fixed_by`` is off (never, when None)."""
    async def run() -> None:
        while True:
            fixed = fixed_by is not None and await redis_client.hget(FLAGS, fixed_by) == "off"
            await publish(HEALTHY if fixed else BROKEN)
            await asyncio.sleep(0.2)  # the app's own reporting cadence

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()


def to_exporter(exporter: MetricsExporter, case: str) -> Publish:
    async def publish(values: dict[str, float]) -> None:
        for name, value in values.items():
            exporter.set(name, value, case=case)

    return publish


async def healthy_history(prometheus: PrometheusServer, exporter: MetricsExporter,
                          case: str, samples: int = 4) -> datetime:
    """Healthy values scraped ``samples`` times, then broken ones scraped; when it broke."""
    await to_exporter(exporter, case)(HEALTHY)
    series = f'app_error_ratio{{case="{case}"}}'
    await eventually(lambda: prometheus.value(f"count_over_time({series}[1m]) >= {samples}"),
                     timeout=30, what=f"{samples} healthy samples of {series}")
    broke_at = datetime.now(UTC)
    await to_exporter(exporter, case)(BROKEN)
    await eventually(lambda: prometheus.value(f"{series} > 0.1"), timeout=30,
                     what=f"{series} scraped broken")
    return broke_at


def to_cloudwatch(cloudwatch: Any, case: str) -> Publish:
    async def publish(values: dict[str, float]) -> None:
        await put_error_ratio(cloudwatch, case, values["app_error_ratio"], datetime.now(UTC))

    return publish


async def put_error_ratio(cloudwatch: Any, case: str, value: float, at: datetime) -> None:
    await asyncio.to_thread(cloudwatch.put_metric_data, Namespace=NAMESPACE, MetricData=[{
        "MetricName": "ErrorRate", "Dimensions": [{"Name": "case", "Value": case}],
        "Value": value, "Timestamp": at}])


async def cloudwatch_history(cloudwatch: Any, case: str, seconds: float = 10) -> datetime:
    """Healthy datapoints over the past ``seconds`` (CloudWatch takes past timestamps)."""
    now = datetime.now(UTC)
    for i in range(int(seconds * 2), 0, -1):
        await put_error_ratio(cloudwatch, case, HEALTHY["app_error_ratio"],
                              now - timedelta(seconds=i / 2))
    return now


async def flag(redis_client: aioredis.Redis, name: str) -> str | None:
    value = await redis_client.hget(FLAGS, name)
    return value if isinstance(value, str) else None
