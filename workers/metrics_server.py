"""The worker's ``/metrics`` endpoint (REMEDIATOR_WORKER_METRICS_ADDR): its activities'
counters and histograms, and the approvals waiting, read from Temporal on scrape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from prometheus_client import start_http_server
from temporalio.client import Client

from remediator.settings import Settings
from remediator.telemetry.metrics import Metrics
from workers.approval_metrics import ApprovalCollector

log = structlog.get_logger()


@asynccontextmanager
async def serving_metrics(settings: Settings, metrics: Metrics, client: Client
                          ) -> AsyncIterator[int | None]:
    """Serve ``metrics`` while inside (the port bound; None while the setting is unset)."""
    if not settings.worker_metrics_addr:
        yield None
        return
    host, _, port = settings.worker_metrics_addr.rpartition(":")
    collector = ApprovalCollector(client, asyncio.get_running_loop(), settings.task_queue,
                                  ttl=settings.metrics_cache_seconds)
    metrics.registry.register(collector)
    server, thread = start_http_server(int(port), host or "127.0.0.1", registry=metrics.registry)
    bound = int(server.server_address[1])
    log.info("metrics.serving", address=f"{host or '127.0.0.1'}:{bound}")
    try:
        yield bound
    finally:
        server.shutdown()
        server.server_close()
        await asyncio.to_thread(thread.join, 5)
        metrics.registry.unregister(collector)
