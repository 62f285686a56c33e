"""Bad input gets a 4xx with a message and starts nothing; repeated alerts join one incident."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from remediator.settings import Settings
from tests.conftest import ServerThread
from tests.support.alerts import alertmanager_payload

AM = "/v1/alerts/alertmanager"
GENERIC = "/v1/alerts/generic"


def _with(change: dict[str, Any], alert_change: dict[str, Any] | None = None) -> bytes:
    payload = alertmanager_payload()
    payload.update(change)
    if alert_change is not None:
        payload["alerts"][0].update(alert_change)
    return json.dumps(payload).encode()


HOSTILE: list[tuple[str, str, bytes, str]] = [
    ("not json", AM, b"{not json", "not valid JSON"),
    ("empty body", AM, b"", "not valid JSON"),
    ("json array", AM, b"[1, 2]", "not an Alertmanager v4 webhook"),
    ("wrong version", AM, _with({"version": "3"}), "version"),
    ("no alerts", AM, _with({"alerts": []}), "alerts"),
    ("no groupKey", AM, _with({"groupKey": ""}), "groupKey"),
    ("bad alert status", AM, _with({}, {"status": "exploded"}), "status"),
    ("no alertname", AM, _with({}, {"labels": {"service": "x"}}), "alertname"),
    ("nested label", AM, _with({}, {"labels": {"alertname": "A", "x": {"y": 1}}}), "labels"),
    ("huge label", AM, _with({}, {"labels": {"alertname": "A", "x": "v" * 5000}}), "labels"),
    ("bad timestamp", AM, _with({}, {"startsAt": "yesterday"}), "startsAt"),
    ("null bytes", AM, b"\x00\x01\x02", "not valid JSON"),
    ("generic without name", GENERIC, b'{"source": "x"}', "name"),
    ("generic bad status", GENERIC, b'{"source":"x","name":"n","status":"maybe"}', "status"),
    ("generic labels list", GENERIC, b'{"source":"x","name":"n","labels":[1]}', "labels"),
]


async def _count(client: Client, settings: Settings) -> int:
    query = f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'"
    return (await client.count_workflows(query)).count


@pytest.mark.parametrize(("case", "path", "body", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_malformed_alert_is_rejected_and_starts_nothing(
    case: str, path: str, body: bytes, message: str, settings: Settings, client: Client,
    http_base: str,
) -> None:
    async with httpx.AsyncClient() as http:
        resp = await http.post(http_base + path, content=body,
                               headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["error"]
    assert await _count(client, settings) == 0


async def test_oversize_wrong_type_and_too_many_alerts_are_refused(
    settings: Settings, client: Client, http_base: str
) -> None:
    many = alertmanager_payload()
    many["alerts"] = many["alerts"] * (settings.max_alerts_per_request + 1)
    async with httpx.AsyncClient() as http:
        big = await http.post(http_base + AM, content=b" " * (settings.max_body_bytes + 1),
                              headers={"content-type": "application/json"})
        text = await http.post(http_base + AM, content=_with({}),
                               headers={"content-type": "text/plain"})
        crowd = await http.post(http_base + AM, json=many)
    assert big.status_code == 413 and "larger than" in big.json()["error"]
    assert text.status_code == 415 and "application/json" in text.json()["error"]
    assert crowd.status_code == 400 and "too many alerts" in crowd.json()["error"]
    assert await _count(client, settings) == 0


async def test_webhook_token_is_required_when_configured(
    settings: Settings, client: Client, worker: None
) -> None:
    secured = Settings.model_validate({**settings.model_dump(), "webhook_token": "s3cret-token"})
    async with ServerThread(secured) as server, httpx.AsyncClient() as http:
        url = server.base + AM
        none = await http.post(url, json=alertmanager_payload())
        wrong = await http.post(url, json=alertmanager_payload(),
                                headers={"authorization": "Bearer nope"})
        right = await http.post(url, json=alertmanager_payload(),
                                headers={"authorization": "Bearer s3cret-token"})
    assert none.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 202
    assert await _count(client, settings) == 1


async def test_same_alert_fifty_times_concurrently_opens_one_incident(
    settings: Settings, client: Client, worker: None, http_base: str
) -> None:
    body = json.dumps(alertmanager_payload(group_key="{}:{alertname=\"Dedup\"}")).encode()
    async with httpx.AsyncClient(timeout=30) as http:
        answers = await asyncio.gather(*[
            http.post(http_base + AM, content=body, headers={"content-type": "application/json"})
            for _ in range(50)
        ])
    assert {r.status_code for r in answers} == {202}
    entries = [r.json()["incidents"][0] for r in answers]
    assert len({e["id"] for e in entries}) == 1
    assert sum(e["created"] for e in entries) == 1
    assert await _count(client, settings) == 1


async def test_unknown_incident_is_404(http_base: str) -> None:
    async with httpx.AsyncClient() as http:
        resp = await http.get(http_base + "/v1/incidents/inc-0000000000")
        health = await http.get(http_base + "/healthz")
    assert resp.status_code == 404 and "no incident" in resp.json()["error"]
    assert health.json() == {"status": "ok"}


async def test_grafana_webhook_opens_an_incident_and_alertmanager_shape_is_refused_there(
    settings: Settings, client: Client, worker: None, http_base: str
) -> None:
    grafana = alertmanager_payload("GrafanaCheckoutErrors", group_key="grafana-group-1")
    grafana.update({"version": "1", "orgId": 1, "title": "[FIRING:1] checkout",
                    "state": "alerting", "message": "checkout errors"})
    grafana["alerts"][0].update({"values": {"B": 0.9}, "dashboardURL": "", "panelURL": ""})
    async with httpx.AsyncClient() as http:
        opened = await http.post(http_base + "/v1/alerts/grafana", json=grafana)
        wrong = await http.post(http_base + "/v1/alerts/grafana", json=alertmanager_payload())
    assert opened.status_code == 202 and opened.json()["incidents"][0]["created"] is True
    assert wrong.status_code == 400 and "not a grafana webhook" in wrong.json()["error"]
    assert await _count(client, settings) == 1
