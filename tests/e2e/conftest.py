"""Fixtures the end-to-end tests share: an approver allow-list, an incident that waits for
an approval (tests/support/approvals.py) and an in-process worker with that allow-list."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

from remediator.settings import Settings
from tests.support.approvals import Case, approval_settings
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, SlackServer
from workers.main import running_worker


@pytest.fixture
def approvals(settings: Settings) -> Settings:
    return approval_settings(settings)


@pytest.fixture
async def case(client: Client, approvals: Settings, redis_client: aioredis.Redis) -> Case:
    return Case(client, approvals, redis_client)


@pytest.fixture
async def approval_worker(client: Client, approvals: Settings) -> AsyncIterator[Worker]:
    async with running_worker(client, approvals) as worker:
        yield worker


SLACK_USERS = "U1=alice,U2=bob,U3=carol,U4=dave,U9=mallory"


@pytest.fixture
def slack_api() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture
def chat(approvals: Settings, slack_api: SlackServer) -> Settings:
    return approvals.model_copy(update={
        "slack_bot_token": SecretStr(BOT_TOKEN), "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_channel": "C-approvals", "slack_users": SLACK_USERS.split(","),
        "slack_api_url": slack_api.api_url})
