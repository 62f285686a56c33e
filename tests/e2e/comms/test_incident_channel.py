"""Seed 02's incident channel: a P1 gets ``#incident-YYYY-MM-DD-NNNN`` (made once, its
responders invited), its messages go there; a P3 gets none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from remediator.settings import Settings
from remediator.severity import Severity
from starters.incidents import Incidents
from tests.support.polling import eventually
from tests.support.slack import BOT_TOKEN, SlackServer
from workers.main import running_worker
from workflows.incident_models import Declaration


@pytest.fixture
def slack_api() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


async def test_p1_gets_its_channel_with_responders_and_updates(
    client: Client, settings: Settings, slack_api: SlackServer
) -> None:
    configured = settings.model_copy(update={
        "slack_bot_token": SecretStr(BOT_TOKEN), "slack_api_url": slack_api.api_url,
        "slack_users": ["U1=alice", "U2=bob"], "oncall": "alice"})
    incidents = Incidents(client, configured.task_queue)
    async with running_worker(client, configured):
        major = await incidents.declare(Declaration(title="checkout down", service="checkout",
                                                    severity=Severity.P1, by="bob"))
        minor = await incidents.declare(Declaration(title="typo", service="search",
                                                    severity=Severity.P3, by="bob"))
        view = await incidents.view(major.id)
        name = f"incident-{view.timeline[0].at:%Y-%m-%d}-{major.id.rsplit('-', 1)[1]}"

        async def posted() -> list[str] | None:
            texts = [c.body["text"] for c in slack_api.of("chat.postMessage")
                     if c.body["channel"] == slack_api.channels.get(name)]
            return texts if any("INCIDENT DECLARED" in t for t in texts) else None

        texts = await eventually(posted, timeout=30, what="the initial alert in the channel")
    creates = [c for c in slack_api.of("conversations.create") if c.body["name"] == name]
    assert len(creates) >= 1 and len(slack_api.channels) == 1  # the P3 got none
    invites = slack_api.of("conversations.invite")  # concurrent first messages: each may
    assert invites and all(i.body == {"channel": slack_api.channels[name], "users": "U1"}
                           for i in invites)
    assert any(f"Channel: #{name}" in t for t in texts)
    initial = [c for c in slack_api.of("chat.postMessage")
               if c.body["channel"] == slack_api.channels[name]
               and "INCIDENT DECLARED" in c.body["text"]]
    pins = slack_api.of("pins.add")
    assert pins and all(p.body["channel"] == slack_api.channels[name] for p in pins)
    assert {p.body["timestamp"] for p in pins} <= set(slack_api.posted_ts(initial))
    assert minor.id not in str([c.body for c in slack_api.calls])
