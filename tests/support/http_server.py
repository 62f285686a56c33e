"""A threaded HTTP server on a free loopback port, for the stand-ins of SaaS APIs and
webhook endpoints the tests receive calls on (Slack, Statuspage, webhooks)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from remediator.devstack.servers import free_port


class LocalHttpServer:
    """Serves ``handler`` while inside ``with``."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
