"""Incidents that run the packaged PostgreSQL and HAProxy runbooks against real servers.

Prometheus scrapes Debian's ``prometheus-postgres-exporter`` (watching the session's
PostgreSQL) and HAProxy's own Prometheus exporter; the worker reads the packaged
runbooks with their minutes shortened to seconds (``runbook_dir`` below) and an
approver list (every step of these runbooks is risky).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from remediator.devstack.servers import Server, free_port
from remediator.settings import PACKAGED_RUNBOOKS, Settings
from tests.support.approvals import approval_settings
from tests.support.haproxy import HaproxyServer, haproxy_binary
from tests.support.postgres import PostgresServer
from tests.support.prometheus import PrometheusServer, prometheus_binary

EXPORTER = "/usr/bin/prometheus-postgres-exporter"
RUNBOOKS = ("database-long-queries", "haproxy-drain-bad-instance", "haproxy-traffic-spike-maxconn")
# Minutes → seconds; everything else as packaged.
SHORTER = {"min_duration_seconds: 300": "min_duration_seconds: 1",
           "threshold: 300": "threshold: 2"}


class PostgresExporter(Server):
    def __init__(self, workdir: Path, postgres: PostgresServer) -> None:
        super().__init__("postgres-exporter", workdir)
        self.port, self.postgres = free_port(), postgres

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        dsn = self.postgres.dsn("postgres", "remediator") + "?sslmode=disable"  # lib/pq wants TLS
        env = {**os.environ, "DATA_SOURCE_NAME": dsn}
        self._spawn([EXPORTER, f"--web.listen-address={self.target}"], self.port, env=env)


@pytest.fixture(scope="session")
def lb(servers_dir: Path) -> Iterator[HaproxyServer]:
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("haproxy not found (scripts/setup.sh installs it)")
    server = HaproxyServer(binary, servers_dir / "e2e-haproxy")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_exporter(servers_dir: Path, postgres: PostgresServer) -> Iterator[PostgresExporter]:
    if not Path(EXPORTER).exists():
        pytest.skip("prometheus-postgres-exporter not found (scripts/setup.sh installs it)")
    exporter = PostgresExporter(servers_dir / "pg-exporter", postgres)
    exporter.start()
    yield exporter
    exporter.stop()


@pytest.fixture(scope="session")
def scraper(servers_dir: Path, lb: HaproxyServer, pg_exporter: PostgresExporter
            ) -> Iterator[PrometheusServer]:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip("prometheus not found (scripts/setup.sh installs it)")
    server = PrometheusServer(binary, servers_dir / "e2e-prometheus", free_port(),
                              [lb.metrics_target, pg_exporter.target])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name in RUNBOOKS:
        text = (PACKAGED_RUNBOOKS / f"{name}.yaml").read_text()
        for long, short in SHORTER.items():
            text = re.sub(re.escape(long), short, text)
        (folder / f"{name}.yaml").write_text(text)
    shutil.copy(PACKAGED_RUNBOOKS / "checkout-feature-flag.yaml", folder)
    return folder


@pytest.fixture
def settings(settings: Settings, postgres: PostgresServer, lb: HaproxyServer,
             scraper: PrometheusServer, runbooks: Path, monkeypatch: pytest.MonkeyPatch
             ) -> Settings:
    monkeypatch.setenv("PROMETHEUS_URL", scraper.url)
    return approval_settings(settings).model_copy(update={
        "runbook_dir": runbooks, "prometheus_url": scraper.url,
        "postgres_dsns": {"shop": SecretStr(postgres.dsn("shop"))},
        "postgres_allowlist": ["shop/shop"],
        "haproxy_socket": str(lb.socket), "haproxy_allowlist": ["web/*"],
        "verify_window_p2_p3_seconds": 4.0, "verify_interval_seconds": 0.5,
        "baseline_lookback_seconds": 3.0, "baseline_gap_seconds": 1.0,
    })
