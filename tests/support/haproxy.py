"""HAProxy for the tests: Debian's ``haproxy`` (2.6) in front of three real HTTP servers.

Each backend server is a tiny HTTP server in the test process answering its own name
(``/slow`` answers after a moment, to measure how many requests it serves at once; a
``failing`` server answers 500). HAProxy runs in the foreground with an admin-level
stats socket (the runtime API) and a Prometheus exporter frontend.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from remediator.devstack.servers import Server, ServerFailed, free_port

BACKEND = "web"
SERVERS = ("s1", "s2", "s3")


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)


class NamedServer:
    """Answers its name; counts requests and the most it served at once."""

    def __init__(self, name: str) -> None:
        self.name, self.failing = name, False
        self.hits, self.in_flight, self.peak = 0, 0, 0
        self._lock = threading.Lock()
        named = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with named._lock:
                    named.hits += 1
                    named.in_flight += 1
                    named.peak = max(named.peak, named.in_flight)
                try:
                    if self.path.startswith("/slow"):
                        time.sleep(0.3)  # a slow request: overlapping ones show the concurrency
                    body = named.name.encode()
                    self.send_response(500 if named.failing else 200)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with named._lock:
                        named.in_flight -= 1

            def log_message(self, *_: object) -> None:
                pass

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def reset_peak(self) -> None:
        with self._lock:
            self.peak = self.in_flight

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HaproxyServer(Server):
    """``haproxy -db`` with frontend ``port`` → backend ``web`` (s1, s2, s3, round robin)."""

    def __init__(self, binary: str, workdir: Path) -> None:
        super().__init__("haproxy", workdir)
        self.binary = binary
        self.port, self.metrics_port = free_port(), free_port()
        self.socket = workdir / "admin.sock"
        self.backends = {name: NamedServer(name) for name in SERVERS}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_target(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"  server {name} 127.0.0.1:{srv.port}"
                            for name, srv in self.backends.items())
        config = self.workdir / "haproxy.cfg"
        config.write_text(f"""global
  stats socket {self.socket} mode 600 level admin
  stats timeout 30s
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout queue 30s
frontend www
  bind 127.0.0.1:{self.port}
  default_backend {BACKEND}
frontend metrics
  bind 127.0.0.1:{self.metrics_port}
  http-request use-service prometheus-exporter if {{ path /metrics }}
backend {BACKEND}
  balance roundrobin
{servers}
""")
        self._spawn([self.binary, "-db", "-f", str(config)], self.port, timeout)
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if time.monotonic() > deadline:
                raise ServerFailed(f"haproxy made no stats socket; see {self.log}")
            time.sleep(0.05)

    def command(self, line: str) -> str:
        """A runtime API command, as an operator would type it (a manual change)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def spread(self, requests: int = 30) -> Counter[str]:
        """Which servers answered ``requests`` sequential requests through the proxy."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            return Counter(client.get("/").text for _ in range(requests))

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        for backend in self.backends.values():
            backend.close()
