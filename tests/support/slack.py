"""A local stand-in for Slack: the Web API methods remediator calls, and response_url.

Requests to remediator are signed exactly as Slack signs them (``v0=`` HMAC-SHA256 of
``v0:{timestamp}:{body}`` with the signing secret)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode

from tests.support.http_server import LocalHttpServer

SIGNING_SECRET = "slack-signing-secret-for-tests"
BOT_TOKEN = "xoxb-test-token"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    auth: str = ""


@dataclass
class SlackServer(LocalHttpServer):
    """Records every Web API call and response_url post; keeps channels by name."""

    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)
    # The ts each chat.postMessage was answered with, by the call's body.
    stamps: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        slack = self
        ts = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                if self.path.startswith("/respond/"):
                    slack.responses.append(body)
                    self._answer({"ok": True})
                    return
                method = self.path.removeprefix("/api/")
                slack.calls.append(Call(method, body, self.headers.get("authorization", "")))
                self._answer(slack.answer(method, body, next(ts)))

            def _answer(self, answer: dict[str, Any]) -> None:
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: object) -> None:
                pass

        self.serve(Handler)

    def answer(self, method: str, body: dict[str, Any], n: int) -> dict[str, Any]:
        if method == "chat.postMessage":
            channel = self.channels.get(body["channel"].lstrip("#"), body["channel"])
            self.stamps[id(body)] = f"1700000000.{n:06d}"
            return {"ok": True, "channel": channel, "ts": self.stamps[id(body)]}
        if method == "conversations.create":
            if body["name"] in self.channels:
                return {"ok": False, "error": "name_taken"}
            self.channels[body["name"]] = f"C{n:08d}"
            return {"ok": True, "channel": {"id": self.channels[body["name"]], "name": body["name"]}}
        if method == "conversations.list":
            return {"ok": True, "channels": [{"id": i, "name": n} for n, i in self.channels.items()]}
        return {"ok": True}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def posted_ts(self, posts: list[Call]) -> list[str]:
        """The ts of each of these chat.postMessage calls."""
        return [self.stamps[id(c.body)] for c in posts]

    def of(self, method: str) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method]



def signed_headers(body: bytes, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": "application/x-www-form-urlencoded"}


def click_body(user: str, action: str, value: str, response_url: str) -> bytes:
    """A block_actions payload as Slack posts it (form-encoded ``payload``)."""
    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower()},
               "response_url": response_url, "trigger_id": "1.2.3",
               "actions": [{"type": "button", "action_id": action, "value": value,
                            "block_id": "approval", "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(user: str, text: str, response_url: str = "") -> bytes:
    return urlencode({"command": "/incident", "text": text, "user_id": user,
                      "team_id": "T1", "response_url": response_url,
                      "trigger_id": "1.2.3"}).encode()
