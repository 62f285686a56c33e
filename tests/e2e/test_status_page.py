"""The public status page as customers see it: an open P1 with its customer updates, a
resolved incident in the past 90 days, a P3 nowhere, and nothing internal anywhere."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from remediator.severity import Severity
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.conftest import ServerThread
from tests.support.alerts import alertmanager_payload
from tests.support.approvals import FLAGS
from tests.support.browser import Browser, chromium_path, screenshot, shots_dir
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.incident_models import Declaration, Resolution

HOST = "db-host-17.internal"
pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Debian chromium")


@pytest.fixture
def status_settings(approvals: Settings) -> Settings:
    return approvals.model_copy(update={
        "status_cache_seconds": 0.0, "status_title": "Example Corp status",
        "status_components": ["checkout", "payments", "search"]})


@pytest.fixture
async def site(client: Client, status_settings: Settings) -> AsyncIterator[str]:
    async with running_worker(client, status_settings), ServerThread(status_settings) as http:
        yield http.base


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    with Browser(tmp_path / "chromium") as b:
        yield b


class World:
    """Three incidents: an open P1 waiting for approval, a resolved P0, a P3."""

    def __init__(self, incidents: Incidents) -> None:
        self.incidents = incidents
        self.open_id = self.resolved_id = self.minor_id = ""
        self.case = uuid.uuid4().hex[:8]
        self.plan = ""
        self.plan_hash = ""

    async def build(self, redis_client: aioredis.Redis) -> None:
        await redis_client.hset(FLAGS, f"test-{self.case}", "on")
        payload = alertmanager_payload("TestApprovalAlert", service="checkout", severity="high",
                                       case=self.case, host=HOST)
        batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
        self.open_id = (await self.incidents.open_or_join(batch)).id
        self.resolved_id = (await self.incidents.declare(Declaration(
            title=f"payments primary {HOST} refuses writes", service="payments",
            severity=Severity.P0, labels={"host": HOST}, by="alice"))).id
        self.minor_id = (await self.incidents.declare(Declaration(
            title="search typo in footer", service="search", severity=Severity.P3,
            by="alice"))).id

        async def waiting() -> bool:
            pending = await self.incidents.pending(self.open_id)
            if pending:
                self.plan, self.plan_hash = pending[0].plan, pending[0].plan_hash
            return bool(pending)

        await eventually(waiting, timeout=60, what="the P1 waiting for approval")

        async def handed_over() -> bool:
            view = await self.incidents.view(self.resolved_id)
            return any(e.kind == "incident.handed_over" for e in view.timeline)

        await eventually(handed_over, timeout=60, what="the P0 handed over")
        await self.incidents.resolve(self.resolved_id, Resolution(by="bob", reason=f"{HOST} failed over"))
        await wait_done(self.incidents, self.resolved_id, timeout=60)

    @property
    def internal(self) -> list[str]:
        """Strings that must never reach the public page."""
        return [HOST, "TestApprovalAlert", "test-approval", "risky-flip", f"test-{self.case}",
                self.plan, self.plan_hash, "carol", "alice", "bob", "refuses writes",
                "tok-", "feature_flag", "on-call engineer", "failed over"]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    else:
        yield str(value)


@pytest.fixture
async def world(client: Client, status_settings: Settings, site: str,
                redis_client: aioredis.Redis) -> World:
    built = World(Incidents(client, status_settings.task_queue))
    await built.build(redis_client)
    return built


async def board_json(site: str, world: World) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        async with httpx.AsyncClient() as http:
            board: dict[str, Any] = (await http.get(f"{site}/status.json")).json()
        ids = {i["id"] for i in board["open"] + board["past"]}
        return board if {world.open_id, world.resolved_id} <= ids else None

    return await eventually(probe, timeout=30, what="both incidents on the board")


async def test_status_page_shows_customers_only_what_is_theirs(
    site: str, world: World, browser: Browser, tmp_path: Path
) -> None:
    board = await board_json(site, world)
    [open_p1] = [i for i in board["open"] if i["id"] == world.open_id]
    [past] = [i for i in board["past"] if i["id"] == world.resolved_id]
    assert open_p1["status"] == "identified" and open_p1["impact"] == "partial_outage"
    assert [u["status"] for u in open_p1["updates"]] == ["investigating", "identified"]
    assert past["status"] == "resolved" and past["resolved_at"]
    assert past["updates"][0]["status"] == "investigating"
    assert past["updates"][-1]["status"] == "resolved"
    components = {c["name"]: c["state"] for c in board["components"]}
    assert components["checkout"] in ("partial_outage", "major_outage")
    assert components["search"] == "operational"
    every_id = {i["id"] for i in board["open"] + board["past"]}
    assert world.minor_id not in every_id
    # Every field of the JSON: nothing internal.
    for text in strings(board):
        for secret in world.internal:
            assert secret not in text, f"{secret!r} leaks in {text!r}"

    text = await browser.visible_text(f"{site}/status")
    assert "Example Corp status" in text and "Active incidents" in text
    assert "Partial outage of checkout" in text and "IDENTIFIED" in text.upper()
    assert "We have identified the cause of the issue affecting checkout" in text
    assert "Major outage of payments" in text  # in the past 90 days
    assert world.minor_id not in text and "search typo" not in text
    for secret in world.internal:
        assert secret not in text
    # The page says what the JSON says.
    for inc in [open_p1]:
        for update in inc["updates"]:
            assert update["body"] in text
    for comp in board["components"]:
        assert f"{comp['name']}\n" in text or comp["name"] in text
        assert comp["state"].replace("_", " ").capitalize() in text

    detail = await browser.visible_text(f"{site}/status/incidents/{world.resolved_id}")
    assert "Major outage of payments" in detail and "has been resolved at" in detail
    for secret in world.internal:
        assert secret not in detail
    async with httpx.AsyncClient() as http:
        hidden = await http.get(f"{site}/status/incidents/{world.minor_id}")
        page = await http.get(f"{site}/status")
    assert hidden.status_code == 404
    assert 'http-equiv="refresh"' in page.text and 'name="viewport"' in page.text
    assert "http://" not in page.text.replace(site, "") and "https://" not in page.text

    shot = shots_dir(tmp_path) / "status-page.png"
    # In a thread: the worker answering the page's queries runs on this test's loop.
    await asyncio.to_thread(screenshot, f"{site}/status", shot, 760, 1000)
    assert shot.stat().st_size > 10_000
