"""Seed 04's runbook practices in the incident: the runbook's version and verification
date are recorded, a stale one is flagged, and the declaration links the human runbook
(the alert's ``runbook_url`` annotation first, else the runbook's ``url``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from tests.e2e.comms.helpers import Incident, _async, _mine
from tests.support.alerts import alertmanager_payload
from tests.support.polling import eventually
from tests.support.receivers import WebhookReceiver
from workers.main import running_worker

PAGE = "https://wiki.example.com/runbooks/checkout-flag"


@pytest.mark.parametrize(("annotation", "link"), [
    (None, PAGE), ("https://runbooks.example.com/alerts/checkout", "https://runbooks.example.com/alerts/checkout"),
])
async def test_declaration_links_the_runbook_and_the_timeline_dates_it(
    annotation: str | None, link: str, comms: Settings, client: Client,
    redis_client: aioredis.Redis, slack: WebhookReceiver,
) -> None:
    incident = Incident(client, comms)
    await redis_client.set(f"health:{incident.case}", "ok")
    payload = alertmanager_payload("TestProvenanceAlert", case=incident.case)
    if annotation:
        payload["alerts"][0]["annotations"]["runbook_url"] = annotation
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    async with running_worker(client, comms):
        incident.id = (await incident.incidents.open_or_join(batch)).id
        view = await incident.done()
        await eventually(lambda: _async(bool(_mine(slack, incident.id, "initial"))), timeout=20,
                         what="initial alert")
    entries = {e.kind: e.detail for e in view.timeline}
    assert entries["runbook.matched"] == "runbook test-provenance v3, last verified 2025-01-15"
    assert entries["runbook.stale"].startswith("test-provenance last verified ")
    assert entries["runbook.stale"].endswith("days ago (over 180): re-test it")
    [initial] = _mine(slack, incident.id, "initial")
    lines = initial.body["text"].splitlines()
    assert lines[lines.index(next(x for x in lines if x.startswith("Channel: "))) + 1] == \
        f"Runbook: {link}"
