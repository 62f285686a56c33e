"""Prometheus for the tests: Debian's ``prometheus`` scraping an exporter the test drives.

The exporter is a tiny HTTP server in the test process serving ``/metrics`` in the
text exposition format; a test sets gauge values (one series per test case, by a
``case`` label) and Prometheus scrapes them every second, as it would an app.
"""

from __future__ import annotations

import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from remediator.devstack.servers import Server, ServerFailed, free_port

Series = tuple[str, tuple[tuple[str, str], ...]]


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


class MetricsExporter:
    """Gauges the test sets, served at ``/metrics``; a series that was never set is absent."""

    def __init__(self) -> None:
        self._gauges: dict[Series, float] = {}
        self._lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("content-type", "text/plain; version=0.0.4")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._gauges[(name, tuple(sorted(labels.items())))] = value

    def render(self) -> str:
        with self._lock:
            gauges = sorted(self._gauges.items())
        lines = [f"# TYPE {name} gauge" for name in sorted({name for (name, _), _ in gauges})]
        for (name, labels), value in gauges:
            pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{pairs}}} {value!r}")
        return "\n".join(lines) + "\n"

    def __enter__(self) -> MetricsExporter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class PrometheusServer(Server):
    """``prometheus`` on loopback with a fresh TSDB, scraping ``targets`` every second."""

    def __init__(self, binary: str, workdir: Path, port: int, targets: list[str],
                 rules: str | None = None, alertmanager: str | None = None) -> None:
        super().__init__("prometheus", workdir)
        self.binary, self.port, self.targets = binary, port, targets
        self.config = workdir / "prometheus.yml"
        self.rules, self.alertmanager = rules, alertmanager

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        quoted = ", ".join(f"'{t}'" for t in self.targets)
        config = ("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                  "  evaluation_interval: 1s\n"
                  "scrape_configs:\n  - job_name: app\n"
                  f"    static_configs:\n      - targets: [{quoted}]\n")
        if self.rules is not None:
            (self.workdir / "rules.yml").write_text(self.rules)
            config += f"rule_files: ['{self.workdir / 'rules.yml'}']\n"
        if self.alertmanager is not None:
            config += ("alerting:\n  alertmanagers:\n    - static_configs:\n"
                       f"        - targets: ['{self.alertmanager}']\n")
        self.config.write_text(config)
        self._spawn([self.binary, f"--config.file={self.config}",
                     f"--storage.tsdb.path={self.workdir / 'data'}",
                     f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                    self.port, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerFailed(f"prometheus not ready after {timeout}s; see {self.log}")

    async def value(self, query: str) -> float | None:
        """The query's single value now, or None (no series yet)."""
        async with httpx.AsyncClient() as http:
            resp = await http.get(f"{self.url}/api/v1/query", params={"query": query}, timeout=5)
        result = resp.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

