"""Prometheus (Debian's binary) scraping an exporter the tests drive; settings in seconds.

CloudWatch comes from the session's ``moto`` fixture (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remediator.devstack.servers import free_port
from remediator.settings import Settings, SinkConfig
from tests.e2e.verify.helpers import INTERVAL, WINDOW
from tests.support.prometheus import MetricsExporter, PrometheusServer, prometheus_binary
from tests.support.receivers import WebhookReceiver


@pytest.fixture(scope="session")
def exporter() -> Iterator[MetricsExporter]:
    with MetricsExporter() as running:
        yield running


@pytest.fixture(scope="session")
def prometheus(servers_dir: Path, exporter: MetricsExporter) -> Iterator[PrometheusServer]:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip("prometheus binary not found: install the Debian package `prometheus` "
                    "(scripts/setup.sh does)")
    server = PrometheusServer(binary, servers_dir / "prometheus", free_port(), [exporter.target])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slack() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def settings(settings: Settings, prometheus: PrometheusServer, slack: WebhookReceiver,
             monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Baselines over the 3 s that end 1 s before the alert; a 4 s window checked every 0.5 s."""
    # Worker processes read PROMETHEUS_URL from the environment, as in production.
    monkeypatch.setenv("PROMETHEUS_URL", prometheus.url)
    return settings.model_copy(update={
        "prometheus_url": prometheus.url,
        "baseline_lookback_seconds": 3.0, "baseline_gap_seconds": 1.0,
        "verify_window_p0_p1_seconds": WINDOW, "verify_window_p2_p3_seconds": WINDOW,
        "verify_interval_seconds": INTERVAL, "sticky_timeout_seconds": 1.0,
        "sinks": [SinkConfig(name="oncall", kind="slack", url=slack.url)],
    })
