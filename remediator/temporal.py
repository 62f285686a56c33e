"""The one way this project connects to Temporal (pydantic data converter included)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode

from remediator.reachable import until_reachable
from remediator.settings import Settings

# RPC outcomes that mean "Temporal is not there right now", as opposed to "it refused".
UNREACHABLE_STATUSES = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


def sdk_metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime whose SDK metrics (workflow and activity task latencies,
    slots, polls, failures) Prometheus scrapes at ``http://<bind_address>/metrics``.
    One per process: a client connected with it carries it to its workers."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=bind_address, counters_total_suffix=True, durations_as_seconds=True)))


def temporal_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says Temporal could not be reached (retrying later may succeed)."""
    if isinstance(exc, RPCError):
        return exc.status in UNREACHABLE_STATUSES
    # Client.connect reports a refused or failed connection as a plain RuntimeError.
    if isinstance(exc, RuntimeError) and str(exc).startswith("Failed client connect"):
        return True
    return isinstance(exc, ConnectionError | TimeoutError)


async def connect_when_ready(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A connected client; waits (logging each attempt) while Temporal is unreachable."""
    return await until_reachable(
        "temporal", settings.temporal_address, lambda: connect(settings, runtime),
        unreachable=temporal_unreachable, max_seconds=settings.connect_retry_max_seconds)
