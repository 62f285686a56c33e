"""Start-up order does not matter: worker and serve started before Temporal wait for it.

Each test owns a Temporal dev server that it starts (and stops) itself, so the
session's server is never disturbed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType

from remediator.devstack.servers import PythonProcess, RedisServer, TemporalDevServer, free_port
from remediator.settings import Settings
from remediator.temporal import connect
from tests.conftest import TESTS
from tests.support.alerts import alertmanager_payload
from tests.support.env import settings_env
from tests.support.moto import MotoServer
from tests.support.polling import eventually

AM = "/v1/alerts/alertmanager"


@pytest.fixture
def temporal_later(tmp_path: Path) -> Iterator[TemporalDevServer]:
    """A dev server of the test's own, not yet started."""
    server = TemporalDevServer(tmp_path / "temporal", port=free_port(), ui_port=None)
    yield server
    server.stop()


@pytest.fixture
def own_settings(temporal_later: TemporalDevServer, redis_server: RedisServer,
                 tmp_path: Path) -> Settings:
    return Settings(
        temporal_address=temporal_later.address, redis_url=redis_server.url,
        task_queue=f"test-{uuid.uuid4().hex[:8]}", state_dir=tmp_path / "state",
        runbook_dir=TESTS / "runbooks", http_addr=f"127.0.0.1:{free_port()}",
        connect_retry_max_seconds=0.5,
    )


@pytest.fixture
def serve(own_settings: Settings, tmp_path: Path) -> Iterator[PythonProcess]:
    """``remediator serve`` as a process; it listens whether or not Temporal is up."""
    proc = PythonProcess("serve", tmp_path / "logs", ["starters.cli", "serve"],
                         settings_env(own_settings), port=own_settings.http_port)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
async def http(own_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # Long enough for the Temporal client's own retries before it reports UNAVAILABLE.
    async with httpx.AsyncClient(base_url=f"http://{own_settings.http_addr}",
                                 timeout=30) as client:
        yield client


async def post_alert(http: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    return await http.post(AM, json=payload)


async def health(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get("/healthz")


def attempts_logged(proc: PythonProcess, dependency: str) -> int:
    lines = proc.log.read_text(errors="replace").splitlines() if proc.log.exists() else []
    return sum('"dependency.unreachable"' in line and f'"dependency": "{dependency}"' in line
               for line in lines)


@pytest.fixture
def worker_first(own_settings: Settings, moto: MotoServer,
                 tmp_path: Path) -> Iterator[PythonProcess]:
    """A worker process started before Temporal (alerts are answered once it routes them)."""
    worker = PythonProcess("worker", tmp_path / "logs", ["workers.main"],
                           settings_env(own_settings))
    worker.start()
    yield worker
    worker.stop()


async def test_worker_and_serve_started_before_temporal_carry_on_when_it_appears(
    own_settings: Settings, temporal_later: TemporalDevServer, serve: PythonProcess,
    http: httpx.AsyncClient, worker_first: PythonProcess,
) -> None:
    worker = worker_first
    down = await health(http)
    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "unreachable": ["temporal"]}
    refused = await post_alert(http, alertmanager_payload())
    assert refused.status_code == 503 and "error" in refused.json()
    assert refused.headers["retry-after"]
    assert (await http.get("/v1/incidents/INC-1")).status_code == 503

    # Both keep retrying (a log line per attempt) rather than exiting.
    await eventually(lambda: _ready(attempts_logged(worker, "temporal") >= 2
                                    and attempts_logged(serve, "temporal") >= 2),
                     timeout=30, what="retries logged by worker and serve")
    assert worker.running and serve.running

    temporal_later.start()
    await eventually(lambda: _status(http, 200), timeout=30, what="/healthz 200")
    accepted = await post_alert(http, alertmanager_payload())
    assert accepted.status_code == 202, accepted.text
    incident_id = accepted.json()["incidents"][0]["id"]

    client = await connect(own_settings)
    handle = client.get_workflow_handle(incident_id)

    async def worker_took_it() -> bool:
        history = await handle.fetch_history()
        return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
                   for e in history.events)

    await eventually(worker_took_it, timeout=60, what="the worker to process the incident")


async def test_alert_while_temporal_is_down_is_refused_then_accepted(
    own_settings: Settings, temporal_later: TemporalDevServer, serve: PythonProcess,
    http: httpx.AsyncClient, worker_first: PythonProcess,
) -> None:
    temporal_later.start()
    await eventually(lambda: _status(http, 200), timeout=30, what="/healthz 200")
    temporal_later.stop()
    await eventually(lambda: _status(http, 503), timeout=30, what="/healthz 503")
    assert (await health(http)).json()["unreachable"] == ["temporal"]

    payload = alertmanager_payload()
    refused = await post_alert(http, payload)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]
    assert "Temporal" in refused.json()["error"]

    temporal_later.start()
    await eventually(lambda: _status(http, 200), timeout=30, what="/healthz 200 again")

    async def sent() -> httpx.Response | None:
        # The worker polls again only after its own reconnect backoff (seconds on a
        # loaded machine); until then the route answers 503 to retry, as Alertmanager does.
        answer = await post_alert(http, payload)
        if answer.status_code == 503 and answer.headers.get("retry-after"):
            return None
        return answer

    accepted = await eventually(sent, timeout=90, what="the alert accepted")
    assert accepted.status_code == 202, accepted.text
    incident_id = accepted.json()["incidents"][0]["id"]
    client = await connect(own_settings)
    await client.get_workflow_handle(incident_id).describe()


async def _ready(value: bool) -> bool:
    return value


async def _status(http: httpx.AsyncClient, code: int) -> bool:
    return (await health(http)).status_code == code
