"""Real receivers for notifications: a Slack-compatible webhook endpoint and an SMTP server."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller

from remediator.devstack.servers import free_port
from tests.support.http_server import LocalHttpServer


@dataclass
class Received:
    at: float
    body: dict[str, Any]


class WebhookReceiver(LocalHttpServer):
    """An HTTP server that records every JSON POST (like a Slack incoming webhook).

    It answers the first ``fail_first`` posts with ``fail_status`` (kept in ``refused``)."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503) -> None:
        self.posts: list[Received] = []
        self.refused: list[Received] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    receiver.refused.append(Received(time.time(), body))
                    self.send_response(fail_status)
                else:
                    receiver.posts.append(Received(time.time(), body))
                    self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: object) -> None:
                pass

        self.serve(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


    def of_kind(self, kind: str) -> list[Received]:
        return [p for p in self.posts if p.body.get("kind") == kind]


class SmtpReceiver:
    """aiosmtpd on loopback, keeping every delivered message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()
