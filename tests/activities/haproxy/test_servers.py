"""haproxy.drain_server / set_weight / set_maxconn against a real HAProxy 2.6 with three
real HTTP servers: traffic moves as the runtime API says, undo restores, a manual change
made since is reported instead of clobbered, a retry reports the value first replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from activities.haproxy.runtime import HaproxyRuntime
from activities.haproxy.servers import HaproxyActivities
from activities.support.crash_points import CrashPoints
from remediator.models.mitigation import MitigationResult
from tests.activities.common import apply_req, new_case, refused, run, undo_req
from tests.activities.haproxy.conftest import ALLOWLIST
from tests.support.haproxy import HaproxyServer
from workflows.catalogue import lookup

S1 = {"backend": "web", "server": "s1"}


async def spread(haproxy: HaproxyServer, requests: int = 30) -> dict[str, int]:
    return dict(await asyncio.to_thread(haproxy.spread, requests))


async def peak_under_load(haproxy: HaproxyServer, name: str, requests: int = 18) -> int:
    """The most requests ``name`` served at once while ``requests`` slow ones ran together."""
    haproxy.backends[name].reset_peak()
    async with httpx.AsyncClient(base_url=haproxy.url, timeout=30) as client:
        answers = await asyncio.gather(*(client.get("/slow") for _ in range(requests)))
    assert all(a.status_code == 200 for a in answers)
    return haproxy.backends[name].peak


@pytest.mark.parametrize("admin", ["drain", "maint"])
async def test_drain_moves_traffic_away_and_undo_brings_it_back(
    lb: HaproxyActivities, haproxy: HaproxyServer, admin: str
) -> None:
    case = new_case()
    assert (await spread(haproxy)).get("s1") == 10

    result = await run(lb.drain_server, apply_req(case, "drain", {**S1, "state": admin}))

    assert result.detail == f"state of HAProxy server web/s1: ready → {admin}"
    assert "s1" not in await spread(haproxy)
    undone = await run(lb.restore_server_state, undo_req(case, "drain", result.undo))
    assert undone.undone and not undone.conflict
    assert (await spread(haproxy)).get("s1") == 10
    assert lookup("haproxy.drain_server").undo is not None


async def test_weight_zero_routes_traffic_away_and_undo_restores_it(
    lb: HaproxyActivities, haproxy: HaproxyServer
) -> None:
    case = new_case()
    result = await run(lb.set_server_weight, apply_req(case, "w", {**S1, "weight": 0}))

    assert result.detail == "weight of HAProxy server web/s1: 1 → 0"
    assert "s1" not in await spread(haproxy)
    await run(lb.restore_server_weight, undo_req(case, "w", result.undo))
    assert (await spread(haproxy)).get("s1") == 10


async def test_maxconn_caps_concurrent_requests_and_undo_lifts_it(
    lb: HaproxyActivities, haproxy: HaproxyServer
) -> None:
    case = new_case()
    assert await peak_under_load(haproxy, "s1") >= 3  # 18 at once, round robin over 3

    result = await run(lb.set_server_maxconn, apply_req(case, "m", {**S1, "maxconn": 1}))

    assert result.detail == "maxconn of HAProxy server web/s1: 0 → 1"
    assert await peak_under_load(haproxy, "s1") == 1
    undone = await run(lb.restore_server_maxconn, undo_req(case, "m", result.undo))
    assert undone.undone, undone.detail
    assert await peak_under_load(haproxy, "s1") >= 3


@pytest.mark.parametrize(("action", "undo", "params", "manual", "what"), [
    ("drain_server", "restore_server_state", {"state": "drain"},
     "set server web/s1 state maint", "state"),
    ("set_server_weight", "restore_server_weight", {"weight": 0},
     "set server web/s1 weight 5", "weight"),
    ("set_server_maxconn", "restore_server_maxconn", {"maxconn": 2},
     "set maxconn server web/s1 7", "maxconn"),
])
async def test_undo_reports_a_manual_change_instead_of_clobbering_it(
    lb: HaproxyActivities, haproxy: HaproxyServer, action: str, undo: str,
    params: dict[str, Any], manual: str, what: str,
) -> None:
    case = new_case()
    result = await run(getattr(lb, action), apply_req(case, "x", {**S1, **params}))
    assert haproxy.command(manual).strip() == ""

    undone = await run(getattr(lb, undo), undo_req(case, "x", result.undo))

    assert undone.conflict and not undone.undone
    assert f"{what} of HAProxy server web/s1 was changed to" in undone.detail
    after = await HaproxyRuntime(str(haproxy.socket)).server("web", "s1")
    assert str(getattr(after, what)) == manual.split()[-1]


async def test_dry_run_says_the_command_and_changes_nothing(
    lb: HaproxyActivities, haproxy: HaproxyServer, state: aioredis.Redis
) -> None:
    case = new_case()
    result = await run(lb.set_server_weight,
                       apply_req(case, "dry", {**S1, "weight": 0}, dry_run=True))

    assert result.dry_run and not result.applied
    assert result.detail == (f"would run `set server web/s1 weight 0` on HAProxy "
                             f"{haproxy.socket}: weight of web/s1 1 → 0")
    assert (await spread(haproxy)).get("s1") == 10
    assert await state.exists(f"remediator:haproxy:inc-{case}:dry") == 0


class RaisingCrash(CrashPoints):
    def reach(self, name: str) -> None:
        if self._armed == name:
            raise RuntimeError(f"crashed at {name}")


async def test_retry_after_crash_reports_the_value_first_replaced(
    haproxy: HaproxyServer, state: aioredis.Redis
) -> None:
    case = new_case()
    runtime = HaproxyRuntime(str(haproxy.socket))
    crashing = HaproxyActivities(runtime, state, ALLOWLIST, RaisingCrash("haproxy.weight.after_write"))
    req = apply_req(case, "w", {**S1, "weight": 0})
    with pytest.raises(RuntimeError):
        await run(crashing.set_server_weight, req)
    assert (await runtime.server("web", "s1")).weight == 0  # the write landed, then the crash

    result: MitigationResult = await run(
        HaproxyActivities(runtime, state, ALLOWLIST, CrashPoints(None)).set_server_weight, req)

    assert result.detail == "weight of HAProxy server web/s1: 1 → 0"  # not "0 → 0"
    assert result.undo is not None and result.undo["old"] == 1


async def test_refusals(lb: HaproxyActivities, haproxy: HaproxyServer, state: aioredis.Redis
                        ) -> None:
    case = new_case()
    await refused(lb.drain_server, apply_req(case, "a", {"backend": "web", "server": "s3"}),
                  "NotAllowed")
    await refused(lb.drain_server, apply_req(case, "b", {"backend": "web", "server": "s1;x"}),
                  "InvalidParams")
    missing = HaproxyActivities(HaproxyRuntime(str(haproxy.socket)), state, ["*"],
                                CrashPoints(None))
    await refused(missing.drain_server, apply_req(case, "c", {"backend": "web", "server": "s9"}),
                  "ResourceNotFound")
    await refused(missing.drain_server, apply_req(case, "d", {"backend": "nope", "server": "s1"}),
                  "ResourceNotFound")
    unset = HaproxyActivities(HaproxyRuntime(None), state, ["*"], CrashPoints(None))
    await refused(unset.drain_server, apply_req(case, "e", S1), "Rejected")
