"""Real servers for the whole session: a Temporal dev server and a redis-server.

Each test gets its own task queue and worker, so tests never see each other's
incidents; servers are shared because starting them dominates the run time.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import uvicorn
from temporalio.client import Client

from remediator.devstack.servers import RedisServer, TemporalDevServer, free_port
from remediator.settings import Settings
from remediator.temporal import connect
from starters.http.app import create_app
from tests.support.alertmanager import AlertmanagerServer, alertmanager_binary
from tests.support.kube import Kube, running_kube
from tests.support.moto import MotoServer
from tests.support.postgres import PostgresServer, postgres_available
from workers.main import running_worker
from workers.search_attributes import ensure_search_attributes

TESTS = Path(__file__).parent


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--workflow-environment", default="local",
        help="'local' (default): the suite starts its own Temporal dev server; or the "
             "host:port of an existing Temporal server (namespace 'default') to run against. "
             "Tests that stop and restart a server start their own either way.")


@dataclass(frozen=True)
class ExistingTemporal:
    """A Temporal server the suite did not start (``--workflow-environment HOST:PORT``)."""

    address: str


async def _registered(address: str) -> None:
    """The incident search attributes exist on a server the suite did not start."""
    await ensure_search_attributes(await Client.connect(address), "default")


@pytest.fixture(scope="session")
def temporal_server(servers_dir: Path, pytestconfig: pytest.Config
                    ) -> Iterator[TemporalDevServer | ExistingTemporal]:
    where = str(pytestconfig.getoption("--workflow-environment"))
    if where != "local":
        asyncio.run(_registered(where))
        yield ExistingTemporal(where)
        return
    server = TemporalDevServer(servers_dir / "temporal", port=free_port(), ui_port=None)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(servers_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(servers_dir / "redis", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto(servers_dir: Path) -> Iterator[MotoServer]:
    """``moto_server`` for AWS; the standard AWS environment points every boto3 client
    (in-process workers and worker processes alike) at it, and keeps tests off real AWS."""
    server = MotoServer(servers_dir / "moto", free_port())
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in server.env.items():
            patch.setenv(name, value)
        yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 cluster (tests/support/postgres.py) shared by the session."""
    if not postgres_available():
        pytest.skip("initdb not found: install the Debian package `postgresql` "
                    "(scripts/setup.sh does)")
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    """A Kubernetes control plane (tests/support/kube.py), shared by every test that
    needs one, wherever it sits in the tree; such tests are marked ``kube``."""
    with running_kube(tmp_path_factory.mktemp("kube")) as cluster:
        yield cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kube" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kube)


@pytest.fixture
def settings(temporal_server: TemporalDevServer | ExistingTemporal, redis_server: RedisServer,
             tmp_path: Path) -> Settings:
    """Test settings: seconds instead of minutes, a task queue of the test's own."""
    return Settings(
        temporal_address=temporal_server.address,
        redis_url=redis_server.url,
        task_queue=f"test-{uuid.uuid4().hex[:8]}",
        # A guard of the test's own: one test's pause or lock never reaches another's.
        guard_workflow_id=f"guard-{uuid.uuid4().hex[:8]}",
        state_dir=tmp_path / "state",
        runbook_dir=TESTS / "runbooks",
        flag_allowlist=["test-*", "checkout-*"],
        verify_interval_seconds=0.5,
        verify_window_p0_p1_seconds=2.0,
        verify_window_p2_p3_seconds=2.0,
        mitigation_timeout_seconds=3.0,
    )


@pytest.fixture
async def client(settings: Settings) -> Client:
    return await connect(settings)


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def state(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """The remediator's own Redis as the worker connects to it (bytes, not str)."""
    client = aioredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def worker(client: Client, settings: Settings) -> AsyncIterator[None]:
    async with running_worker(client, settings):
        yield


class ServerThread:
    """The real webhook app under uvicorn, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ServerThread:
        self.thread.start()
        while not self.server.started:
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 10)


@pytest.fixture
async def http_base(settings: Settings) -> AsyncIterator[str]:
    async with ServerThread(settings) as server:
        yield server.base


# One real Alertmanager for the tests that read its API (each test uses alertnames or a
# case label of its own), with an inhibit rule: an alert labelled ``inhibitor=yes`` mutes
# ``inhibited=yes`` of its case.
ALERTMANAGER_INHIBIT = """inhibit_rules:
  - source_matchers: ['inhibitor="yes"']
    target_matchers: ['inhibited="yes"']
    equal: [case]
"""


@pytest.fixture(scope="session")
def alertmanager(servers_dir: Path) -> Iterator[AlertmanagerServer]:
    binary = alertmanager_binary()
    if binary is None:
        pytest.skip("prometheus-alertmanager not found: install the Debian package "
                    "(scripts/setup.sh does)")
    # Its notifications go nowhere: these tests read its API only.
    server = AlertmanagerServer(binary, servers_dir / "alertmanager", free_port(),
                                f"http://127.0.0.1:{free_port()}/nowhere", "unused",
                                extra_config=ALERTMANAGER_INHIBIT)
    server.start()
    yield server
    server.stop()
