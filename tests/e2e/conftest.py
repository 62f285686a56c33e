"""Fixtures the end-to-end tests share: an approver allow-list, an incident that waits for
an approval (tests/support/approvals.py) and an in-process worker with that allow-list."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client
from temporalio.worker import Worker

from remediator.settings import Settings
from tests.support.approvals import Case, approval_settings
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
