"""An alert that no worker routes in time is a clear NotRouted (the webhook answers 503
and the sender retries), said once: the failed start is read, so asyncio does not log
it again as a "Future exception was never retrieved" traceback (seen under every burst
before)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents, NotRouted
from starters.routes import route_of
from tests.support.alerts import alertmanager_payload


async def test_an_alert_no_worker_routes_in_time_is_refused_once_and_quietly(
    client: Client,
) -> None:
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    # A queue no worker polls: the group starts, but nobody accepts the update in time.
    incidents = Incidents(client, f"nobody-{uuid.uuid4().hex[:8]}",
                          route_timeout=timedelta(seconds=1))
    payload = alertmanager_payload("TestFlagAlert", case=uuid.uuid4().hex[:8])
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    try:
        with pytest.raises(NotRouted, match="no worker routed the alert within 1 s"):
            await incidents.open_or_join(batch)
        gc.collect()  # an unread failure is reported when its future is collected
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(before)
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(route_of(batch).workflow_id).terminate("test over")
    assert [c["message"] for c in reported] == []
