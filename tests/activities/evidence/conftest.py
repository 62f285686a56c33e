"""Evidence sources against the session's real servers: Redis, moto (SSM, Lambda, Auto
Scaling), PostgreSQL, and a Prometheus of these tests scraping an exporter they drive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remediator.devstack.servers import free_port
from tests.support.prometheus import MetricsExporter, PrometheusServer, prometheus_binary


@pytest.fixture(scope="session")
def evidence_exporter() -> Iterator[MetricsExporter]:
    with MetricsExporter() as running:
        yield running


@pytest.fixture(scope="session")
def evidence_prometheus(servers_dir: Path, evidence_exporter: MetricsExporter
                        ) -> Iterator[PrometheusServer]:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip("prometheus binary not found: install the Debian package `prometheus` "
                    "(scripts/setup.sh does)")
    server = PrometheusServer(binary, servers_dir / "evidence-prometheus", free_port(),
                              [evidence_exporter.target])
    server.start()
    yield server
    server.stop()
