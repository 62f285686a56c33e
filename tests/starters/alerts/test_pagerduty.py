"""PagerDuty V3 webhooks: signed incident events open, join and resolve incidents;
unsigned, mis-signed or malformed ones are refused and start nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.devstack.servers import free_port
from remediator.models.alert import AlertBatch, AlertStatus
from remediator.settings import Settings
from remediator.severity import Severity
from starters.alerts.common import BadAlert, guess_format
from starters.alerts.pagerduty import (
    ReplayCache,
    StaleDelivery,
    check_fresh,
    parse_pagerduty,
    signed,
)
from starters.incidents import Incidents
from tests.conftest import TESTS, ServerThread
from tests.support.alerts import alertmanager_payload, pagerduty_payload
from tests.support.env import settings_env
from tests.support.incidents import wait_done
from workflows.triage_rules import classify

PD = "/v1/alerts/pagerduty"
SECRET = "pd-signing-secret"
FLAGS = "remediator:flags:production"


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _parse(payload: dict[str, object]) -> AlertBatch | str:
    return parse_pagerduty(json.dumps(payload).encode(), datetime.now(UTC))


def test_signature_is_checked_against_every_current_secret() -> None:
    body = b'{"event": {}}'
    assert signed(body, _sign(body), [SECRET])
    # While a secret rotates PagerDuty sends one signature per secret.
    assert signed(body, f"{_sign(body, 'old')}, {_sign(body, 'new')}", ["new"])
    assert not signed(body, _sign(body, "other"), [SECRET])
    assert not signed(body + b" ", _sign(body), [SECRET])
    assert not signed(body, _sign(body).removeprefix("v1="), [SECRET])
    assert not signed(body, "", [SECRET])


@pytest.mark.parametrize(("priority", "urgency", "severity"), [
    ("P1", "high", Severity.P0), ("P2", "high", Severity.P1), ("P3", "low", Severity.P2),
    ("P4", "high", Severity.P3), ("P5", "high", Severity.P3), (None, "high", Severity.P1),
    (None, "low", Severity.P3), ("Custom-Sev", "low", Severity.P1),
])
def test_priority_and_urgency_map_onto_the_seed_table(
    priority: str | None, urgency: str, severity: Severity,
) -> None:
    batch = _parse(pagerduty_payload("PGR0VU2", priority=priority, urgency=urgency))
    assert isinstance(batch, AlertBatch)
    [alert] = batch.alerts
    assert classify(alert.labels, None)[0] == severity


def test_incident_event_becomes_one_alert_keyed_by_the_pagerduty_incident() -> None:
    batch = _parse(pagerduty_payload("PGR0VU2"))
    assert isinstance(batch, AlertBatch)
    [alert] = batch.alerts
    assert batch.group_key == "pagerduty:PGR0VU2"
    assert alert.source == "pagerduty" and alert.name == "TestPagerDutyAlert"
    assert alert.status == AlertStatus.FIRING and alert.fingerprint == "PGR0VU2"
    assert alert.labels["service"] == "checkout"
    assert alert.labels["pagerduty_priority"] == "P2"
    assert alert.annotations["pagerduty_url"] == "https://acme.pagerduty.com/incidents/PGR0VU2"
    resolved = _parse(pagerduty_payload("PGR0VU2", event_type="incident.resolved"))
    assert isinstance(resolved, AlertBatch)
    assert resolved.group_key == batch.group_key
    assert resolved.alerts[0].status == AlertStatus.RESOLVED


@pytest.mark.parametrize("event_type", ["incident.acknowledged", "incident.annotated",
                                        "incident.priority_updated", "pagey.ping"])
def test_other_event_types_are_ignored_with_a_reason(event_type: str) -> None:
    note = _parse(pagerduty_payload("PGR0VU2", event_type=event_type))
    assert note == f"event type {event_type!r} is not acted on"


@pytest.mark.parametrize(("change", "message"), [
    ({"event": None}, "event"),
    ({"event": {"id": "x", "event_type": "incident.triggered"}}, "occurred_at"),
    ({"data": {"id": "P1"}}, "event.data.title"),
    ({"data": {"title": "t"}}, "event.data.id"),
    ({"data": {"id": "P1", "title": "t", "priority": "P1"}}, "priority"),
])
def test_malformed_events_name_the_field(change: dict[str, object], message: str) -> None:
    payload = pagerduty_payload("PGR0VU2")
    if "data" in change:
        payload["event"]["data"] = change["data"]
    else:
        payload.update(change)
    with pytest.raises(BadAlert, match=message.replace(".", r"\.")):
        _parse(payload)


async def _count(client: Client, settings: Settings) -> int:
    query = f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'"
    return (await client.count_workflows(query)).count


async def test_signed_incident_runs_its_runbook_and_unsigned_ones_start_nothing(
    settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
) -> None:
    incident = "P" + uuid.uuid4().hex[:8].upper()
    await redis_client.set(f"health:{incident}", "ok")
    secured = Settings.model_validate({**settings.model_dump(), "pagerduty_secrets": SECRET})
    trigger = json.dumps(pagerduty_payload(incident)).encode()
    ping = json.dumps(pagerduty_payload(incident, event_type="pagey.ping")).encode()
    json_type = {"content-type": "application/json"}
    async with ServerThread(secured) as server, httpx.AsyncClient() as http:
        url = server.base + PD
        unsigned = await http.post(url, content=trigger, headers=json_type)
        forged = await http.post(url, content=trigger,
                                 headers={**json_type, "x-pagerduty-signature": _sign(b"x")})
        bad = await http.post(url, content=b'{"event": 1}',
                              headers={**json_type, "x-pagerduty-signature": _sign(b'{"event": 1}')})
        pinged = await http.post(url, content=ping,
                                 headers={**json_type, "x-pagerduty-signature": _sign(ping)})
        assert await _count(client, settings) == 0
        opened = await http.post(url, content=trigger,
                                 headers={**json_type, "x-pagerduty-signature": _sign(trigger)})
    assert unsigned.status_code == 401 and forged.status_code == 401
    assert "X-PagerDuty-Signature" in unsigned.json()["error"]
    assert bad.status_code == 400 and "not a PagerDuty V3 webhook" in bad.json()["error"]
    assert pinged.status_code == 202 and pinged.json()["incidents"] == []
    assert opened.status_code == 202, opened.text
    [entry] = opened.json()["incidents"]
    assert entry["created"] is True
    view = await wait_done(Incidents(client, settings.task_queue), entry["id"])
    assert view.status == "resolved" and view.severity == "P1"
    assert [s.state for s in view.steps] == ["applied"]
    assert await redis_client.hget(FLAGS, f"test-{incident}") == "off"
    assert await _count(client, settings) == 1


async def test_without_a_signing_secret_the_bearer_token_guards_the_endpoint(
    settings: Settings,
) -> None:
    secured = Settings.model_validate({**settings.model_dump(), "webhook_token": "tok"})
    ping = pagerduty_payload("PGR0VU2", event_type="pagey.ping")
    async with ServerThread(secured) as server, httpx.AsyncClient() as http:
        none = await http.post(server.base + PD, json=ping)
        right = await http.post(server.base + PD, json=ping,
                                headers={"authorization": "Bearer tok"})
    assert none.status_code == 401
    assert right.status_code == 202 and "not acted on" in right.json()["note"]


async def test_cli_guesses_the_webhook_and_signs_pagerduty_payloads(
    settings: Settings, client: Client, tmp_path: Path,
) -> None:
    secured = Settings.model_validate({**settings.model_dump(), "pagerduty_secrets": SECRET})
    ping = tmp_path / "ping.json"
    ping.write_text(json.dumps(pagerduty_payload("PGR0VU2", event_type="pagey.ping")))
    async with ServerThread(secured) as server:
        sent = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "starters.cli", "alert", str(ping), "--url",
                             server.base], capture_output=True, text=True, timeout=60,
            env=settings_env(secured))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert json.loads(sent.stdout) == {"incidents": [],
                                       "note": "event type 'pagey.ping' is not acted on"}


@pytest.mark.parametrize(("payload", "kind"), [
    (alertmanager_payload(), "alertmanager"),
    ({**alertmanager_payload(), "version": "1"}, "grafana"),
    (pagerduty_payload("PGR0VU2"), "pagerduty"),
    ({"source": "x", "name": "n"}, "generic"),
    ([1, 2], "generic"),
])
def testguess_format_is_guessed_from_the_shape(payload: object, kind: str) -> None:
    assert guess_format(json.dumps(payload).encode()) == kind


def test_freshness_window_refuses_old_and_future_events() -> None:
    now = datetime.now(UTC)
    check_fresh(now - timedelta(minutes=29), now, 1800)
    check_fresh(now + timedelta(minutes=4), now, 1800)  # clock skew is tolerated
    check_fresh((now - timedelta(minutes=1)).replace(tzinfo=None), now, 1800)  # naive: UTC
    with pytest.raises(StaleDelivery, match="more than the 1800 s allowed"):
        check_fresh(now - timedelta(days=30), now, 1800)
    with pytest.raises(StaleDelivery, match="ahead of this server's clock"):
        check_fresh(now + timedelta(hours=1), now, 1800)
    old = pagerduty_payload("PGR0VU2", occurred_at=now - timedelta(hours=1))
    with pytest.raises(StaleDelivery):
        parse_pagerduty(json.dumps(old).encode(), now, 1800)
    assert isinstance(parse_pagerduty(json.dumps(old).encode(), now), AlertBatch)  # no window


async def test_replay_cache_claims_once_releases_and_steps_aside_without_redis(
    settings: Settings,
) -> None:
    shared = aioredis.Redis.from_url(settings.redis_url)
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0",
                                   socket_connect_timeout=1)
    try:
        cache, delivery = ReplayCache(shared, 60), uuid.uuid4().hex
        assert await cache.claim("pagerduty", delivery)
        assert not await cache.claim("pagerduty", delivery)
        assert await cache.claim("other-source", delivery)
        await cache.release("pagerduty", delivery)  # forwarding failed: the retry is new
        assert await cache.claim("pagerduty", delivery)
        assert 0 < await shared.ttl(ReplayCache._key("pagerduty", delivery)) <= 60
        # Redis away: accepted unchecked (the alert group joins a repeat to its incident).
        assert await ReplayCache(dead, 60).claim("pagerduty", delivery)
    finally:
        await shared.aclose()
        await dead.aclose()


async def test_stale_delivery_is_refused_and_a_replay_has_no_second_effect(
    settings: Settings, client: Client, worker: None, redis_client: aioredis.Redis,
) -> None:
    incident = "P" + uuid.uuid4().hex[:8].upper()
    await redis_client.set(f"health:{incident}", "ok")
    secured = Settings.model_validate({**settings.model_dump(), "pagerduty_secrets": SECRET})
    stale = json.dumps(pagerduty_payload(
        incident, occurred_at=datetime.now(UTC) - timedelta(days=30))).encode()
    fresh = json.dumps(pagerduty_payload(incident)).encode()
    signed_json = {"content-type": "application/json"}
    # Two replicas of the webhook server share one replay cache.
    async with ServerThread(secured) as one, ServerThread(secured) as two, \
            httpx.AsyncClient() as http:
        refused = await http.post(one.base + PD, content=stale,
                                  headers={**signed_json, "x-pagerduty-signature": _sign(stale)})
        assert await _count(client, settings) == 0
        first = await http.post(one.base + PD, content=fresh,
                                headers={**signed_json, "x-pagerduty-signature": _sign(fresh)})
        replayed = await http.post(two.base + PD, content=fresh,
                                   headers={**signed_json, "x-pagerduty-signature": _sign(fresh)})
    assert refused.status_code == 400 and "stale PagerDuty delivery" in refused.json()["error"]
    assert first.status_code == 202 and first.json()["incidents"][0]["created"] is True
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == {"incidents": [],
                               "note": "delivery already accepted; nothing done again"}
    view = await wait_done(Incidents(client, settings.task_queue),
                           first.json()["incidents"][0]["id"])
    assert view.status == "resolved" and [s.state for s in view.steps] == ["applied"]
    assert view.alerts == 1 and view.duplicates == 0
    assert await _count(client, settings) == 1


async def test_cli_sends_the_shipped_example_as_a_new_delivery_each_time(
    settings: Settings, client: Client, worker: None,
) -> None:
    """The example file's occurred_at is long past: the CLI sends it as a new delivery
    (fresh id and time), twice — the second joins the first's incident; ``--verbatim``
    sends it as it is, and the server refuses it as stale."""
    secured = Settings.model_validate({**settings.model_dump(), "pagerduty_secrets": SECRET})
    example = TESTS.parent / "remediator" / "examples" / "pagerduty-incident.json"

    def send(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "starters.cli", "alert", str(example),
                               "--url", server.base, *extra], capture_output=True, text=True,
                              timeout=60, env=settings_env(secured))

    async with ServerThread(secured) as server:
        first = await asyncio.to_thread(send)
        again = await asyncio.to_thread(send)
        verbatim = await asyncio.to_thread(send, "--verbatim")
    assert first.returncode == 0, first.stdout + first.stderr
    opened = json.loads(first.stdout)["incidents"][0]
    assert opened["created"] is True
    assert json.loads(again.stdout)["incidents"] == [{"id": opened["id"], "created": False}]
    assert verbatim.returncode == 1 and "stale" in verbatim.stdout
