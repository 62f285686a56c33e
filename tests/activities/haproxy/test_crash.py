"""A worker SIGKILLed right after its runtime API command: the fresh worker sends
nothing again and reports the state the step first replaced (for its undo)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from activities.haproxy.runtime import HaproxyRuntime
from remediator.settings import Settings
from tests.activities.common import mitigate_across_crash, new_case
from tests.activities.haproxy.conftest import ALLOWLIST
from tests.support.haproxy import HaproxyServer


async def test_worker_killed_after_drain_reports_the_replaced_state(
    settings: Settings, client: Client, tmp_path: Path, haproxy: HaproxyServer
) -> None:
    settings = settings.model_copy(update={"haproxy_socket": str(haproxy.socket),
                                           "haproxy_allowlist": ALLOWLIST,
                                           "sticky_timeout_seconds": 1.0})
    case = new_case()
    seen: list[str] = []

    async def meanwhile() -> None:
        seen.append((await HaproxyRuntime(str(haproxy.socket)).server("web", "s1")).state)

    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "haproxy.state.after_write", case, "haproxy.drain_server",
        {"backend": "web", "server": "s1", "state": "maint"}, meanwhile)

    assert seen == ["maint"]  # the command landed before the kill
    assert outcome.state == "applied"
    assert outcome.detail == "state of HAProxy server web/s1: ready → maint"
    assert outcome.undo is not None and outcome.undo["old"] == "ready"
    assert "s1" not in haproxy.spread()
