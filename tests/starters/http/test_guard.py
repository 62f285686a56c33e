"""``/v1/maintenance``, ``/v1/pause``, ``/v1/resume`` and ``/v1/guard`` on the real app:
changes need an API token (its user is recorded), bad input is a 4xx with the reason and
changes nothing, and ``/healthz`` says when automation is paused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from remediator.settings import Settings
from tests.conftest import ServerThread

ALICE = {"authorization": "Bearer tok-alice"}
BOB = {"authorization": "Bearer tok-bob"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_tokens": SecretStr("alice=tok-alice,bob=tok-bob")})


@pytest.fixture
async def http(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    async with ServerThread(settings) as server, httpx.AsyncClient(base_url=server.base,
                                                                   timeout=30) as client:
        yield client


async def test_pause_and_resume_over_http(http: httpx.AsyncClient) -> None:
    anonymous = await http.post("/v1/pause", json={"reason": "freeze"})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "pausing automation needs a valid API bearer token"}
    no_reason = await http.post("/v1/pause", json={}, headers=ALICE)
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]
    not_json = await http.post("/v1/pause", content=b"{", headers=ALICE)
    assert not_json.status_code == 400
    assert (await http.get("/v1/guard")).json()["paused"] is None

    paused = await http.post("/v1/pause", json={"reason": "freeze"}, headers=ALICE)
    assert paused.status_code == 200 and paused.json()["paused"]["by"] == "alice"
    again = await http.post("/v1/pause", json={"reason": "other"}, headers=BOB)
    assert again.json()["changed"] is False and again.json()["paused"]["reason"] == "freeze"
    health = (await http.get("/healthz")).json()
    assert health["automation"] == {"paused": True, "by": "alice", "reason": "freeze",
                                    "since": health["automation"]["since"]}
    resumed = await http.post("/v1/resume", headers=BOB)
    assert resumed.status_code == 200 and resumed.json()["changed"] is True
    assert (await http.get("/healthz")).json() == {"status": "ok"}


async def test_maintenance_windows_over_http(http: httpx.AsyncClient) -> None:
    body = {"matchers": ["service=checkout"], "duration_seconds": 3600, "reason": "upgrade"}
    anonymous = await http.post("/v1/maintenance", json=body)
    assert anonymous.status_code == 401
    opened = await http.post("/v1/maintenance", json=body, headers=ALICE)
    assert opened.status_code == 201, opened.text
    window = opened.json()
    assert window["created_by"] == "alice" and window["matchers"] == ["service=checkout"]

    bad = [
        ({**body, "matchers": ["service~x"]}, "unknown matcher 'service~x'"),
        ({**body, "matchers": ["x=~("]}, "bad regex"),
        ({**body, "reason": "again"}, f"overlaps window {window['id']}"),
        ({**body, "created_by": "mallory"}, "Extra inputs are not permitted"),
        ({**body, "duration_seconds": None, "starts_at": "2030-01-02T00:00:00Z",
          "ends_at": "2030-01-01T00:00:00Z"}, "before it starts"),
        ({**body, "matchers": []}, "at least 1 item"),
        ({**body, "starts_at": "2030-01-01T00:00:00"}, "timezone"),
    ]
    for sent, reason in bad:
        refused = await http.post("/v1/maintenance", json=sent, headers=BOB)
        assert refused.status_code == 400, (sent, refused.text)
        assert reason in refused.json()["error"], (sent, refused.text)
    listed = (await http.get("/v1/maintenance")).json()["windows"]
    assert [w["id"] for w in listed] == [window["id"]] and listed[0]["active"] is True

    missing = await http.delete("/v1/maintenance/mw-999", headers=BOB)
    assert missing.status_code == 404 and "no open or upcoming" in missing.json()["error"]
    ended = await http.delete(f"/v1/maintenance/{window['id']}", headers=BOB)
    assert ended.status_code == 200 and ended.json()["ended_by"] == "bob"
    assert (await http.get("/v1/maintenance")).json() == {"windows": []}
    status = (await http.get("/v1/guard")).json()
    assert {"locks", "cooldowns", "blocks", "windows", "paused", "in_flight", "policy"} <= set(status)
