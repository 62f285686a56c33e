"""Credentials never leak: after an incident that used every kind of secret — webhook
bearer token, API token (approval), PagerDuty signing secret, a Slack webhook URL that
failed before it worked, AWS keys — none of them appears in the worker's or the webhook
server's logs, in any workflow history (what the Temporal UI shows), or in the postmortem."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.client import Client

from remediator.devstack.servers import free_port
from remediator.settings import Settings, SinkConfig
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload, pagerduty_payload
from tests.support.env import settings_env
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from tests.support.receivers import WebhookReceiver
from tests.support.worker_proc import WorkerProcess

SECRETS = {name: f"{name}-{uuid.uuid4().hex}" for name in
           ("webhook-token", "api-token", "wrong-token", "pagerduty", "slack-path", "aws-key")}


@pytest.fixture
def secured(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, WebhookReceiver]]:
    with WebhookReceiver(fail_first=2) as slack:
        yield settings.model_copy(update={
            "webhook_token": SecretStr(SECRETS["webhook-token"]),
            "api_tokens": SecretStr(f"alice={SECRETS['api-token']}"),
            "pagerduty_secrets": SecretStr(SECRETS["pagerduty"]),
            "approvers": ["alice"],
            "sinks": [SinkConfig(name="oncall", kind="slack",
                                 url=SecretStr(f"{slack.url}/{SECRETS['slack-path']}"))],
        }), slack


class WebhookServer:
    """``remediator serve`` in its own process, its output in a log file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = log
        env = settings_env(settings, REMEDIATOR_HTTP_ADDR=self.base.removeprefix("http://"))
        with log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "starters.cli", "serve"],
                                         env=env, stdout=out, stderr=subprocess.STDOUT)

    async def ready(self) -> None:
        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(self.base + "/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(up, timeout=60, what="webhook server")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def _run_incident(server: WebhookServer, client: Client, settings: Settings,
                        redis_client: aioredis.Redis) -> str:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    bearer = {"authorization": f"Bearer {SECRETS['webhook-token']}"}
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        refused = await http.post("/v1/alerts/alertmanager", json=alertmanager_payload(),
                                  headers={"authorization": f"Bearer {SECRETS['wrong-token']}"})
        assert refused.status_code == 401
        ping = json.dumps(pagerduty_payload("PSECRET", event_type="pagey.ping")).encode()
        signature = hmac.new(SECRETS["pagerduty"].encode(), ping, hashlib.sha256).hexdigest()
        pinged = await http.post("/v1/alerts/pagerduty", content=ping, headers={
            "content-type": "application/json", "x-pagerduty-signature": f"v1={signature}"})
        assert pinged.status_code == 202
        opened = await http.post("/v1/alerts/alertmanager", headers=bearer,
                                 json=alertmanager_payload("TestApprovalAlert", case=case))
        incident_id: str = opened.json()["incidents"][0]["id"]
        incidents = Incidents(client, settings.task_queue)

        async def plan_hash() -> str | None:
            waiting = await incidents.pending(incident_id)
            return waiting[0].plan_hash if waiting else None

        approved = await http.post(
            f"/v1/incidents/{incident_id}/approvals",
            headers={"authorization": f"Bearer {SECRETS['api-token']}"},
            json={"step": "risky-flip", "decision": "approve",
                  "plan_hash": await eventually(plan_hash, timeout=60, what="approval request")})
        assert approved.status_code == 200, approved.text
    await wait_done(incidents, incident_id)
    return incident_id


def _decoded(node: object) -> Iterator[str]:
    """Every string in a history's JSON, payloads (base64 there) decoded."""
    if isinstance(node, dict):
        if "data" in node and "metadata" in node:  # a Payload
            yield base64.b64decode(node["data"]).decode(errors="replace")
        for value in node.values():
            yield from _decoded(value)
    elif isinstance(node, list):
        for value in node:
            yield from _decoded(value)
    elif isinstance(node, str):
        yield node


async def _histories(client: Client, settings: Settings) -> str:
    query = f"TaskQueue = '{settings.task_queue}'"
    texts = [(await client.get_workflow_handle(w.id, run_id=w.run_id).fetch_history()).to_json()
             async for w in client.list_workflows(query)]
    return "\n".join(line for text in texts for line in _decoded(json.loads(text)))


async def test_no_credential_reaches_logs_history_or_postmortem(
    secured: tuple[Settings, WebhookReceiver], client: Client, redis_client: aioredis.Redis,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, slack = secured
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS["aws-key"])
    server = WebhookServer(settings, tmp_path / "serve.log")
    try:
        with WorkerProcess(settings, tmp_path):
            await server.ready()
            incident_id = await _run_incident(server, client, settings, redis_client)
    finally:
        server.stop()
    histories = await _histories(client, settings)
    # The failing sink and the approval really happened, so their paths were exercised.
    assert "webhook answered HTTP 503" in histories
    assert slack.posts and "approval.granted" in histories
    postmortem = (settings.postmortem_dir / f"{incident_id}.md").read_text()
    places = {"worker log": (tmp_path / "worker.log").read_text(),
              "server log": server.log.read_text(), "workflow histories": histories,
              "postmortem": postmortem}
    assert "alert.accepted" in places["server log"] and "notification.sent" in places["worker log"]
    leaks = [(secret, where) for secret in SECRETS.values() for where, text in places.items()
             if secret in text]
    assert leaks == []
