"""Hostile input never reaches an exception, and nothing accepted can kill an incident.

Property tests feed the parsers anything (bytes, JSON of any shape, real payloads with
hostile values): each answers a batch Temporal can carry, a reason to ignore, or
BadAlert. A schemathesis run drives every endpoint of the real app, on the real
Temporal dev server, from its own OpenAPI document: no answer is a 5xx, schema-invalid
bodies are refused, and only 2xx answers start incidents. End to end, an alert whose
``service`` label exceeds Temporal's search-attribute limit runs to completion.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pydantic_core
import pytest
import redis.asyncio as aioredis
import schemathesis
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import negative_data_rejection
from temporalio.client import Client

from remediator.models.alert import AlertBatch
from remediator.settings import Settings
from remediator.temporal import connect
from starters.alerts import pagerduty
from starters.alerts.alertmanager import parse_alertmanager
from starters.alerts.common import MAX_NAME, BadAlert
from starters.alerts.generic import parse_generic
from starters.alerts.grafana import parse_grafana
from starters.http.app import create_app
from starters.incidents import Incidents
from tests.conftest import ServerThread
from tests.support.alerts import alertmanager_payload, pagerduty_payload
from tests.support.incidents import wait_done
from tests.support.moto import MotoServer
from tests.support.worker_proc import WorkerProcess
from workflows.support import search

NOW = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)
PARSERS: dict[str, Callable[[bytes], AlertBatch | str]] = {
    "alertmanager": lambda body: parse_alertmanager(body, NOW, 100),
    "grafana": lambda body: parse_grafana(body, NOW, 100),
    "generic": lambda body: parse_generic(body, NOW),
    "pagerduty": lambda body: pagerduty.parse_pagerduty(body, NOW),
}
FAST = hsettings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _outcome(parser: str, body: bytes) -> AlertBatch | str | None:
    """The parser's answer (None for BadAlert); any other exception fails the test.
    A batch must be one Temporal can carry and a workflow can compute with."""
    try:
        got = PARSERS[parser](body)
    except BadAlert as exc:
        assert str(exc)
        return None
    if isinstance(got, AlertBatch):
        pydantic_core.to_json(got)  # the payload converter's encoding: no lone surrogates
        for alert in got.alerts:
            assert 1 <= len(alert.name) <= MAX_NAME
            if alert.starts_at is not None:
                assert alert.starts_at.tzinfo is not None
                assert abs(alert.starts_at - NOW) < timedelta(days=367)
    return got


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
hostile_text = st.text(max_size=300) | st.sampled_from(
    ["x" * 257, "x" * 2100, "é" * 1500, "\u2028", "\x00", "0001-01-01T00:00:00Z",
     "9999-12-31T23:59:59-23:59", "2026-11-24T10:00:00", "1e400"])


@pytest.mark.parametrize("parser", PARSERS)
@FAST
@given(body=st.binary(max_size=600))
@example(body=b"[" * 1000 + b"]" * 1000)
@example(body=b'{"version": "4", "groupKey": ' + b"9" * 4301 + b"}")
@example(body=b'{"source": "s", "name": "\\ud800"}')
def test_any_bytes_give_a_batch_or_bad_alert(parser: str, body: bytes) -> None:
    _outcome(parser, body)


@pytest.mark.parametrize("parser", PARSERS)
@FAST
@given(value=json_values)
def test_any_json_gives_a_batch_or_bad_alert(parser: str, value: object) -> None:
    _outcome(parser, json.dumps(value).encode())


@FAST
@given(name=hostile_text, service=hostile_text, started=hostile_text, extra=hostile_text,
       fingerprint=hostile_text)
def test_real_payloads_with_hostile_values_give_a_batch_or_bad_alert(
    name: str, service: str, started: str, extra: str, fingerprint: str,
) -> None:
    am = alertmanager_payload(name, service=service)
    am["alerts"][0].update(startsAt=started, fingerprint=fingerprint)
    am["alerts"][0]["annotations"][extra] = extra
    generic = {"source": "fuzz", "name": name, "labels": {"service": service, extra: extra}}
    pd = pagerduty_payload(fingerprint or "P1", title=name, priority=extra)
    pd["event"]["data"].update(created_at=started, urgency=extra)
    pd["event"]["data"]["service"]["summary"] = service
    for parser, payload in [("alertmanager", am), ("generic", generic), ("pagerduty", pd)]:
        _outcome(parser, json.dumps(payload).encode())


def test_issue_cases_are_refused_or_bounded() -> None:
    deep = b"[" * 1000 + b"]" * 1000
    huge = b'{"version": "4", "groupKey": ' + b"9" * 4301 + b"}"
    long_name = json.dumps(alertmanager_payload("A" * 300)).encode()
    for body, message in [(deep, "not valid JSON"), (huge, "not valid JSON"),
                          (long_name, "longer than 256")]:
        with pytest.raises(BadAlert, match=message):
            parse_alertmanager(body, NOW, 100)
    title = "T" * 1000
    batch = pagerduty.parse_pagerduty(json.dumps(pagerduty_payload("PX", title=title)).encode(), NOW)
    assert isinstance(batch, AlertBatch)
    [alert] = batch.alerts
    assert alert.name == title[:MAX_NAME] and alert.annotations["summary"] == title
    old = json.dumps(alertmanager_payload()).replace("2026-11-24T10:00:00Z", "0001-01-01T00:00:00Z")
    assert parse_alertmanager(old.encode(), NOW, 100).alerts[0].starts_at is None


@FAST
@given(value=st.text(max_size=3000))
@example(value="é" * 2100)
@example(value="\U0001f525" * 300)
def test_search_attribute_values_are_cut_to_fit_on_a_character_boundary(value: str) -> None:
    cut = search.bounded(value)
    assert value.startswith(cut)
    assert len(cut) <= search.MAX_CHARS and len(cut.encode()) <= search.MAX_BYTES
    assert cut == value or len(cut) == search.MAX_CHARS or len(cut.encode()) > search.MAX_BYTES - 4


@FAST
@given(header=st.text(max_size=200))
@example(header="v1=é")
def test_any_signature_header_is_judged_not_raised(header: str) -> None:
    assert pagerduty.signed(b"{}", header, ["secret"]) is False


TOKEN = "fuzz-token"


def _secured(settings: Settings) -> Settings:
    return Settings.model_validate({**settings.model_dump(), "webhook_token": TOKEN,
                                    "api_tokens": f"fuzzer={TOKEN}",
                                    "pagerduty_secrets": "pd-secret"})


async def _count(client: Client, settings: Settings) -> int:
    query = f"WorkflowType = 'IncidentWorkflow' AND TaskQueue = '{settings.task_queue}'"
    return (await client.count_workflows(query)).count


async def test_non_ascii_token_or_signature_is_401_and_starts_nothing(
    settings: Settings, client: Client,
) -> None:
    secured = _secured(settings)
    body = json.dumps(alertmanager_payload()).encode()
    pd = json.dumps(pagerduty_payload("PNONASCII")).encode()
    json_type = {b"content-type": b"application/json"}
    async with ServerThread(secured) as server, httpx.AsyncClient() as http:
        bearer = await http.post(server.base + "/v1/alerts/alertmanager", content=body,
                                 headers={**json_type, b"authorization": "Bearer é".encode()})
        signature = await http.post(server.base + "/v1/alerts/pagerduty", content=pd,
                                    headers={**json_type, b"x-pagerduty-signature": "v1=é".encode()})
        approval = await http.post(server.base + "/v1/incidents/x/approvals", content=b"{}",
                                   headers={**json_type, b"authorization": "Bearer é".encode()})
    assert [r.status_code for r in (bearer, signature, approval)] == [401, 401, 401]
    assert all(r.json()["error"] for r in (bearer, signature, approval))
    assert await _count(client, settings) == 0


@pytest.fixture
def fuzzed_server(settings: Settings, moto: MotoServer,
                  tmp_path: Path) -> Iterator[tuple[ServerThread, Settings]]:
    """The real app (bearer token, API token and PagerDuty secret set) under uvicorn,
    for a synchronous test: schemathesis drives hypothesis, which runs no event loop.
    A worker process routes the alerts (an alert's answer names its incident)."""
    secured = _secured(settings)
    worker = WorkerProcess(secured, tmp_path / "logs")
    worker.start()
    server = ServerThread(secured)
    server.thread.start()
    deadline = time.monotonic() + 30
    while not server.server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.server.started
    yield server, secured
    server.server.should_exit = True
    server.thread.join(10)
    worker.kill()


def test_every_endpoint_answers_below_500_and_refuses_invalid_bodies(
    fuzzed_server: tuple[ServerThread, Settings],
) -> None:
    server, settings = fuzzed_server
    schema = schemathesis.openapi.from_dict(create_app(settings).openapi())
    headers = {"authorization": f"Bearer {TOKEN}"}
    created: set[str] = set()
    seen: dict[str, set[int]] = {}

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        # Only a body can be made schema-invalid: path strings take anything.
        modes = [GenerationMode.POSITIVE] + [GenerationMode.NEGATIVE] * bool(operation.body)
        for mode in modes:
            @hsettings(max_examples=25, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def exchange(case: Any) -> None:
                response = case.call(base_url=server.base, headers=headers, timeout=30)
                seen.setdefault(case.operation.label, set()).add(response.status_code)
                case.validate_response(response, checks=[not_a_server_error,
                                                         negative_data_rejection])
                if response.status_code >= 400:
                    assert isinstance(response.json()["error"], str)
                elif "/v1/alerts/" in case.operation.path:
                    created.update(i["id"] for i in response.json()["incidents"] if i["created"])
                elif case.operation.path == "/v1/incidents":  # declared
                    created.add(response.json()["id"])

            exchange()

    assert all(all(code < 500 for code in codes) for codes in seen.values()), seen
    # Each alert endpoint accepted some valid bodies, and only those started incidents.
    assert all(202 in seen[f"POST /v1/alerts/{name}"]
               for name in ("alertmanager", "grafana", "generic")), seen
    started = asyncio.run(_count_fresh(settings))
    assert started == len(created)


async def _count_fresh(settings: Settings) -> int:
    return await _count(await connect(settings), settings)


async def test_over_long_service_label_is_bounded_and_the_incident_completes(
    settings: Settings, client: Client, worker: None, http_base: str,
    redis_client: aioredis.Redis,
) -> None:
    case = uuid.uuid4().hex[:8]
    await redis_client.set(f"health:{case}", "ok")
    service = "s" * 2100
    too_long_name = alertmanager_payload("A" * 4000, case=case)
    async with httpx.AsyncClient() as http:
        refused = await http.post(f"{http_base}/v1/alerts/alertmanager", json=too_long_name)
        assert refused.status_code == 400 and "alertname" in refused.json()["error"]
        assert await _count(client, settings) == 0
        resp = await http.post(f"{http_base}/v1/alerts/alertmanager",
                               json=alertmanager_payload("TestFlagAlert", service=service,
                                                         case=case))
    assert resp.status_code == 202, resp.text
    [entry] = resp.json()["incidents"]

    view = await wait_done(Incidents(client, settings.task_queue), entry["id"])

    assert view.status == "resolved" and view.service == service
    described = await client.get_workflow_handle(entry["id"]).describe()
    assert described.typed_search_attributes.get(search.SERVICE) == service[:search.MAX_CHARS]


async def test_incident_ids_of_any_length_or_character_are_404(settings: Settings) -> None:
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    decision = json.dumps({"step": "s", "decision": "approve"})
    async with ServerThread(_secured(settings)) as server, httpx.AsyncClient() as http:
        for incident_id in ["x" * 2000, "é" * 600, "%00", "%FF%FE", "a%2Fb", "..", " "]:
            got = await http.get(f"{server.base}/v1/incidents/{incident_id}", headers=headers)
            decided = await http.post(f"{server.base}/v1/incidents/{incident_id}/approvals",
                                      content=decision, headers=headers)
            severity = await http.post(f"{server.base}/v1/incidents/{incident_id}/severity",
                                       content=json.dumps({"severity": "P1", "reason": "r"}),
                                       headers=headers)
            assert (got.status_code, decided.status_code, severity.status_code) == (
                404, 404, 404), incident_id
