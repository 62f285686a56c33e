"""A Temporal dev server of its own, with its web UI, for the tests that look at the UI.

It replaces the session's headless server for the tests in this folder only (the
``settings``, ``client`` and worker fixtures all follow ``temporal_server``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remediator.devstack.servers import TemporalDevServer, free_port


@pytest.fixture(scope="session")
def temporal_server(servers_dir: Path) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(servers_dir / "temporal-ui", port=free_port(), ui_port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ui_base(temporal_server: TemporalDevServer) -> str:
    """The web UI's address."""
    return f"http://127.0.0.1:{temporal_server.ui_port}"
