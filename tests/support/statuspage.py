"""A local stand-in for Atlassian Statuspage's REST API: records every call."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_server import LocalHttpServer


@dataclass
class PageCall:
    method: str
    path: str
    body: dict[str, Any]
    auth: str


@dataclass
class StatuspageServer(LocalHttpServer):
    calls: list[PageCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        page = self
        ids = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                page.calls.append(PageCall(self.command, self.path, body,
                                           self.headers.get("authorization", "")))
                answer = {"id": f"pi{next(ids)}" if self.command == "POST"
                          else self.path.rsplit("/", 1)[1], **body["incident"]}
                raw = json.dumps(answer).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_POST = do_PATCH = _record

            def log_message(self, *_: object) -> None:
                pass

        self.serve(Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

