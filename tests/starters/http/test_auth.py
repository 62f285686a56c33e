"""Reads need a token beyond loopback: incident state (plans, plan hashes, alert labels)
is for holders of an API token; /healthz stays open and says nothing else; serve refuses
to listen on the network when no API token could ever read."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import httpx
import pytest
from pydantic import SecretStr

from remediator.devstack.servers import free_port
from remediator.settings import Settings
from tests.conftest import ServerThread
from tests.support.env import settings_env
from tests.support.polling import eventually

TOKENS = SecretStr("alice=tok-alice,bob=tok-bob")


def _alert() -> dict[str, object]:
    return {"source": "test", "name": f"ReadAuth{uuid.uuid4().hex[:8]}",
            "labels": {"service": "checkout"}, "status": "firing"}


def test_reads_are_guarded_beyond_loopback_or_when_asked() -> None:
    assert not Settings(http_addr="127.0.0.1:8080").reads_guarded
    assert not Settings(http_addr="localhost:8080").reads_guarded
    assert not Settings(http_addr="[::1]:8080").reads_guarded
    assert Settings(http_addr="0.0.0.0:8080").reads_guarded
    assert Settings(http_addr="10.0.0.7:8080").reads_guarded
    assert Settings(http_addr="remediator.internal:8080").reads_guarded  # unknown: guarded
    assert Settings(http_addr="127.0.0.1:8080", reads_need_token=True).reads_guarded


async def test_beyond_loopback_reads_need_any_valid_api_token(
    settings: Settings, worker: None,
) -> None:
    # The rule follows REMEDIATOR_HTTP_ADDR; the test server itself binds loopback.
    networked = settings.model_copy(update={
        "http_addr": "0.0.0.0:8080", "api_tokens": TOKENS, "webhook_token": SecretStr("hook")})
    async with ServerThread(networked) as server, httpx.AsyncClient() as http:
        opened = await http.post(f"{server.base}/v1/alerts/generic", json=_alert(),
                                 headers={"authorization": "Bearer hook"})
        assert opened.status_code == 202, opened.text
        url = f"{server.base}/v1/incidents/{opened.json()['incidents'][0]['id']}"
        anonymous = await http.get(url)
        wrong = await http.get(url, headers={"authorization": "Bearer tok-eve"})
        webhook_token = await http.get(url, headers={"authorization": "Bearer hook"})
        unknown = await http.get(f"{server.base}/v1/incidents/no-such-incident")
        health = await http.get(f"{server.base}/healthz")

        async def read_by_bob() -> httpx.Response | None:
            answer = await http.get(url, headers={"authorization": "Bearer tok-bob"})
            return answer if answer.status_code == 200 else None

        valid = await eventually(read_by_bob, timeout=30, what="bob reads the incident")
    for refused in (anonymous, wrong, webhook_token, unknown):
        # Refused before anything is looked up: no data, and no hint whether it exists.
        assert refused.status_code == 401
        assert refused.json() == {"error": "reading incidents needs a valid API bearer token"}
    assert valid.json()["id"] == url.rsplit("/", 1)[1] and "timeline" in valid.json()
    assert health.status_code == 200 and health.json() == {"status": "ok"}


async def test_on_loopback_reads_stay_open_by_default(settings: Settings, worker: None) -> None:
    async with ServerThread(settings) as server, httpx.AsyncClient() as http:
        opened = await http.post(f"{server.base}/v1/alerts/generic", json=_alert())
        url = f"{server.base}/v1/incidents/{opened.json()['incidents'][0]['id']}"

        async def read() -> httpx.Response | None:
            answer = await http.get(url)
            return answer if answer.status_code == 200 else None

        assert (await eventually(read, timeout=30, what="an open read")).json()["status"]


async def _serve(settings: Settings, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "starters.cli", "serve"], capture_output=True,
        text=True, timeout=60, env=settings_env(settings, **env))


@pytest.mark.parametrize(("env", "message"), [
    ({"REMEDIATOR_WEBHOOK_TOKEN": "hook"},
     "refusing to listen beyond loopback without REMEDIATOR_API_TOKENS"),
    ({"REMEDIATOR_API_TOKENS": "alice=tok-alice"},
     "refusing to listen beyond loopback without REMEDIATOR_WEBHOOK_TOKEN"),
])
async def test_serve_refuses_the_network_without_tokens(
    settings: Settings, env: dict[str, str], message: str,
) -> None:
    done = await _serve(settings, REMEDIATOR_HTTP_ADDR=f"0.0.0.0:{free_port()}", **env)
    assert done.returncode == 2 and message in done.stderr, done.stderr


async def test_serve_refuses_reads_need_token_without_api_tokens(settings: Settings) -> None:
    done = await _serve(settings, REMEDIATOR_HTTP_ADDR=f"127.0.0.1:{free_port()}",
                        REMEDIATOR_READS_NEED_TOKEN="true")
    assert done.returncode == 2 and "REMEDIATOR_API_TOKENS" in done.stderr, done.stderr


async def test_serve_listens_on_the_network_with_both_tokens(settings: Settings) -> None:
    port = free_port()
    env = settings_env(settings, REMEDIATOR_HTTP_ADDR=f"0.0.0.0:{port}",
                       REMEDIATOR_WEBHOOK_TOKEN="hook", REMEDIATOR_API_TOKENS="alice=tok-alice")
    proc = subprocess.Popen([sys.executable, "-m", "starters.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with httpx.AsyncClient() as http:
            async def refused_read() -> httpx.Response | None:
                try:
                    return await http.get(f"http://127.0.0.1:{port}/v1/incidents/x")
                except httpx.TransportError:
                    return None

            answer = await eventually(refused_read, timeout=30, what="serve listening")
        assert answer.status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
