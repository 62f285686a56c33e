"""Benchmark: alert storms against the real webhook server, on one machine.

Starts its own Temporal dev server, redis-server, one worker and one webhook server
(``remediator worker`` / ``remediator serve``, as users run them), then measures
  (0) the load client's own ceiling (a canned HTTP server) and serve's floor (a 404);
  (1) duplicate storm: one alert group opens an incident that stays open (no runbook
      matches: handed over), then N exact duplicates of its alert with K in flight;
  (2) distinct burst: M distinct groups at once, each opening an incident whose
      runbook sets a feature flag: POST → the flag activity started;
and prints a Markdown report (or JSON). Every phase has a timeout; every process it
started is stopped at the end. Benchmarks are not tests: nothing asserts on figures.
Usage: python bench/storm.py [--duplicates 10000] [--distinct 300] [--in-flight 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis as sync_redis
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activities.alert_shield import route_key  # noqa: E402
from bench.load import Load, hammer  # noqa: E402
from bench.measure import RssSampler, pct  # noqa: E402
from remediator.devstack.servers import (  # noqa: E402
    PythonProcess,
    RedisServer,
    Server,
    TemporalDevServer,
    free_port,
)
from remediator.logging import configure_logging  # noqa: E402
from remediator.settings import Settings  # noqa: E402
from remediator.temporal import connect  # noqa: E402
from starters.alerts.alertmanager import parse_alertmanager  # noqa: E402
from starters.routes import route_of  # noqa: E402
from tests.support.alerts import alertmanager_payload  # noqa: E402
from tests.support.env import settings_env  # noqa: E402

# The burst's incidents: one low-risk flag step (no approval), verified at once.
RUNBOOK = """\
name: bench-flag
match:
  alertname: BenchFlagAlert
steps:
  - id: flip
    action: feature_flag.set
    params:
      flag: "bench-${labels.case}"
      value: "off"
verify:
  checks:
    - source: redis_key
      target: "health:${labels.case}"
      expect: ok
"""
STORM_ALERT = "BenchStormAlert"  # matches no runbook: its incident is handed over, stays open
PROBES = 3000  # requests for the client ceiling and serve's floor


class Stack:
    """The processes of one run, started in order and all stopped by ``stop``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.temporal = TemporalDevServer(workdir / "temporal", port=free_port(), ui_port=None)
        self.redis = RedisServer(workdir / "redis", port=free_port())
        self.started: list[Server] = []
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        runbooks = workdir / "runbooks"
        runbooks.mkdir()
        (runbooks / "bench-flag.yaml").write_text(RUNBOOK)
        self.settings = Settings(
            temporal_address=self.temporal.address, redis_url=self.redis.url,
            task_queue="bench", state_dir=workdir / "state", runbook_dir=runbooks,
            flag_allowlist=["bench-*"], http_addr=f"127.0.0.1:{port}",
            verify_window_p0_p1_seconds=0, verify_window_p2_p3_seconds=0,
            verify_interval_seconds=0.01)
        # This tree's code (not an installed remediator), and whatever PYTHONPATH adds.
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = settings_env(self.settings, PYTHONPATH=path)
        self.worker = PythonProcess("worker", workdir, ["starters.cli", "worker"], env)
        self.serve = PythonProcess("serve", workdir, ["starters.cli", "serve"], env, port)
        self.canned_port = free_port()
        self.canned = PythonProcess("canned", workdir, ["bench.load", str(self.canned_port)],
                                    env, self.canned_port)

    def start(self) -> None:
        for server in (self.temporal, self.redis, self.worker, self.serve, self.canned):
            self.started.append(server)
            server.start()

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()

    def pids(self) -> dict[str, int]:
        named = {"serve": self.serve, "worker": self.worker, "temporal": self.temporal,
                 "redis": self.redis}
        pids = {name: s.proc.pid for name, s in named.items() if s.proc is not None}
        return {**pids, "bench client": os.getpid()}


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    times = {}
    for name, pid in pids.items():
        t = psutil.Process(pid).cpu_times()
        times[name] = t.user + t.system
    return times


async def measured(pids: dict[str, int],
                   body: Callable[[], Awaitable[Load]]) -> tuple[Load, dict[str, float]]:
    """The burst, and the CPU seconds each process spent during it."""
    before = cpu_seconds(pids)
    load = await body()
    after = cpu_seconds(pids)
    return load, {name: round(after[name] - before[name], 2) for name in pids}


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str,
                every: float = 0.2) -> float:
    """Seconds until ``check`` holds; raises TimeoutError after ``timeout``."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(every)
    return time.monotonic() - start


def latency(load: Load, expected: int | None = None) -> dict[str, Any]:
    """Rate, latency percentiles, and answers other than expected (default: any 2xx)."""
    accepted = sum(n for status, n in load.statuses.items() if 200 <= status < 300)
    return {"per_second": round(load.per_second, 1),
            "accepted_per_second": round(accepted / load.seconds, 1) if load.seconds else 0.0,
            "p50_ms": round(pct(load.latencies, 0.5) * 1e3, 1),
            "p99_ms": round(pct(load.latencies, 0.99) * 1e3, 1),
            "non_2xx": load.unexpected(expected)}


def per_request_ms(cpu: dict[str, float], n: int) -> dict[str, float]:
    return {name: round(seconds / n * 1e3, 3) for name, seconds in cpu.items()}


async def probes(stack: Stack, body: bytes, in_flight: int) -> dict[str, Any]:
    """The client's own ceiling (same body, canned answers) and serve's floor: a 404,
    which goes through uvicorn and FastAPI's routing but touches neither Redis nor Temporal."""
    pids = stack.pids()
    ceiling, cpu = await measured(pids, lambda: hammer(
        f"http://127.0.0.1:{stack.canned_port}/v1/alerts/alertmanager", [body] * PROBES, in_flight))
    floor, floor_cpu = await measured(pids, lambda: hammer(
        f"{stack.base}/bench-no-such-route", [None] * PROBES, in_flight))
    return {"client_ceiling": {**latency(ceiling), "cpu_ms_per_request": per_request_ms(cpu, PROBES)},
            "serve_404_floor": {**latency(floor, expected=404),
                                "cpu_ms_per_request": per_request_ms(floor_cpu, PROBES)}}


async def history_types(client: Client, workflow_id: str) -> list[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events]


@contextlib.contextmanager
def sampled(stack: Stack, profile: Path | None) -> Iterator[None]:
    """py-spy's samples of serve while the block runs (collapsed stacks, for flame graphs)."""
    if profile is None or stack.serve.proc is None:
        yield
        return
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                            str(stack.serve.proc.pid), "--format", "raw", "--rate", "250",
                            "--output", str(profile)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # py-spy attaches before the load starts
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


async def storm(stack: Stack, client: Client, http: httpx.AsyncClient, n: int, in_flight: int,
                timeout: float, profile: Path | None = None) -> dict[str, Any]:
    payload = alertmanager_payload(STORM_ALERT, service="storm", group_key="bench-storm")
    body = json.dumps(payload).encode()
    url = f"{stack.base}/v1/alerts/alertmanager"
    group = route_of(parse_alertmanager(body, datetime.now(UTC), 500)).workflow_id
    first = await http.post(url, content=body, headers={"content-type": "application/json"})
    incident = first.json()["incidents"][0]["id"]

    async def view() -> dict[str, Any]:
        resp = await http.get(f"{stack.base}/v1/incidents/{incident}")
        return resp.json() if resp.status_code == 200 else {}

    async def handed_over() -> bool:
        return (await view()).get("status") == "escalated"

    settle = await until(handed_over, timeout, "storm incident handed over")
    ttl = sync_redis.Redis.from_url(stack.redis.url).ttl(route_key(group))
    before = {wid: await history_types(client, wid) for wid in (incident, group)}
    with sampled(stack, profile):
        load, cpu = await measured(stack.pids(), lambda: hammer(url, [body] * n, in_flight))

    # Every answered duplicate is counted once (a non-2xx one was not acknowledged).
    accepted = sum(count for status, count in load.statuses.items() if 200 <= status < 300)

    async def all_counted() -> bool:
        return (await view()).get("duplicates") == accepted

    try:
        lag: float | None = round(await until(all_counted, timeout, "duplicates counted"), 1)
    except TimeoutError:
        lag = None  # reported: the count below is not the number accepted
    after = {wid: await history_types(client, wid) for wid in (incident, group)}
    gained = {wid: Counter(after[wid][len(before[wid]):]) for wid in before}
    return {
        "incident": incident, "first_post_status": first.status_code,
        "settle_s": round(settle, 1), "shield_entry_ttl_left_s": ttl,
        **latency(load), "seconds": round(load.seconds, 2),
        "statuses": dict(load.statuses), "accepted": accepted,
        "duplicates_counted": (await view()).get("duplicates"), "counted_after_s": lag,
        "incident_events_added": sum(gained[incident].values()),
        "incident_events_by_type": dict(gained[incident]),
        "group_events_added": sum(gained[group].values()),
        "group_events_by_type": dict(gained[group]), "cpu_seconds": cpu,
        "cpu_ms_per_alert": per_request_ms(cpu, n),
    }


async def apply_started(client: Client, incident: str) -> float | None:
    """When the worker started the flag step's apply activity (server's event time)."""
    scheduled = None
    async for e in client.get_workflow_handle(f"{incident}/mitigate").fetch_history_events():
        attrs = e.activity_task_scheduled_event_attributes
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and \
                attrs.activity_id.startswith("apply/"):
            scheduled = e.event_id
        started = e.activity_task_started_event_attributes
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and \
                started.scheduled_event_id == scheduled:
            return e.event_time.ToDatetime(tzinfo=UTC).timestamp()
    return None


async def mitigation_starts(client: Client, sent: dict[str, float], timeout: float) -> dict[str, float]:
    """POST → apply activity started, per incident, once its mitigate phase has completed
    (found through visibility, so each history is fetched once)."""
    found: dict[str, float] = {}

    async def all_found() -> bool:
        query = "WorkflowType = 'MitigateWorkflow' AND ExecutionStatus = 'Completed'"
        async for wf in client.list_workflows(query):
            incident = wf.id.removesuffix("/mitigate")
            if incident in sent and incident not in found:
                started = await apply_started(client, incident)
                if started is not None:
                    found[incident] = started - sent[incident]
        return len(found) == len(sent)

    with contextlib.suppress(TimeoutError):  # the missing ones are reported
        await until(all_found, timeout, "mitigations started", every=2.0)
    return found


async def burst(stack: Stack, client: Client, n: int, in_flight: int, timeout: float,
                storm_incident: str) -> dict[str, Any]:
    r = sync_redis.Redis.from_url(stack.redis.url)
    for i in range(n):
        r.set(f"health:burst{i}", "ok")
    bodies = [json.dumps(alertmanager_payload("BenchFlagAlert", service="bench", case=f"burst{i}"))
              .encode() for i in range(n)]
    url = f"{stack.base}/v1/alerts/alertmanager"
    load, cpu = await measured(stack.pids(), lambda: hammer(url, bodies, in_flight, keep_answers=True))
    sent = {}
    for at, answer in zip(load.sent_at, load.answers, strict=True):
        try:
            incident = json.loads(answer)["incidents"][0]
        except (ValueError, LookupError, TypeError):
            continue
        if incident.get("created"):
            sent[incident["id"]] = at
    starts = list((await mitigation_starts(client, sent, timeout)).values())
    # A 503 (not routed in time) may still open its incident once the worker catches up.
    in_temporal = (await client.count_workflows(
        f"WorkflowType = 'IncidentWorkflow' AND WorkflowId != '{storm_incident}'")).count
    return {
        **latency(load), "seconds": round(load.seconds, 2), "statuses": dict(load.statuses),
        "incidents_opened": len(sent), "incidents_in_temporal": in_temporal,
        "mitigations_seen": len(starts),
        "p50_post_to_mitigation_s": round(pct(starts, 0.5), 1) if starts else None,
        "p99_post_to_mitigation_s": round(pct(starts, 0.99), 1) if starts else None,
        "max_post_to_mitigation_s": round(max(starts), 1) if starts else None,
        "cpu_seconds": cpu,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "duplicates": args.duplicates, "distinct": args.distinct, "in_flight": args.in_flight,
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            worker_rss = RssSampler(stack.worker.proc.pid)  # type: ignore[union-attr]
            serve_rss = RssSampler(stack.serve.proc.pid)  # type: ignore[union-attr]
            client = await connect(stack.settings)
            async with httpx.AsyncClient(timeout=30) as http:
                await until(lambda: healthy(http, stack.base), 60, "serve healthy")
                body = json.dumps(alertmanager_payload(STORM_ALERT, group_key="probe")).encode()
                report["probes"] = await asyncio.wait_for(
                    probes(stack, body, args.in_flight), args.phase_timeout)
                report["storm"] = await asyncio.wait_for(storm(
                    stack, client, http, args.duplicates, args.in_flight, args.phase_timeout,
                    args.profile_serve),
                    args.phase_timeout * 3)
            report["burst"] = await asyncio.wait_for(burst(
                stack, client, args.distinct, args.in_flight, args.phase_timeout,
                report["storm"]["incident"]),
                args.phase_timeout * 2)
            report["worker_peak_rss_mb"] = round(worker_rss.stop(), 1)
            report["serve_peak_rss_mb"] = round(serve_rss.stop(), 1)
        finally:
            report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
            stack.stop()
            if args.logs is not None:  # the servers' logs outlive the temporary directory
                args.logs.mkdir(parents=True, exist_ok=True)
                for log in Path(tmp).rglob("*.log"):
                    shutil.copy(log, args.logs / log.name)
    return report


async def healthy(http: httpx.AsyncClient, base: str) -> bool:
    try:
        return (await http.get(f"{base}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


def markdown(r: dict[str, Any]) -> str:
    p, s, b = r["probes"], r["storm"], r["burst"]

    def row(name: str, x: dict[str, Any], unit: str, accepted: bool = True) -> str:
        rate = x["accepted_per_second"] if accepted else x["per_second"]
        return (f"| {name} | {rate:,.0f} {unit}/s | {x['p50_ms']} / {x['p99_ms']} ms "
                f"| {x['non_2xx']} |")

    def cpu(x: dict[str, float], digits: int = 1) -> str:
        return ", ".join(f"{k} {v:.{digits}f}" for k, v in x.items())

    def types(x: dict[str, int]) -> str:
        return ", ".join(f"{k.lower()} {v}" for k, v in sorted(x.items(), key=lambda kv: -kv[1])) or "none"

    return "\n".join([
        f"## Storm benchmark: {r['duplicates']:,} duplicates, {r['distinct']} distinct, "
        f"{r['in_flight']} in flight",
        "",
        f"{r['machine']}; load average (1/5/15 min) at start {r['load_average_start']}, "
        f"at end {r['load_average_end']}.",
        "",
        "| requests | rate (accepted) | p50 / p99 | non-2xx |",
        "| --- | --- | --- | --- |",
        row("client ceiling (canned server)", p["client_ceiling"], "req"),
        row("serve floor (GET of an unknown path: 404, no I/O)", p["serve_404_floor"], "req",
            accepted=False),
        row(f"duplicate storm ({r['duplicates']:,}; target ≥ 2,000/s)", s, "alerts"),
        row(f"distinct burst ({r['distinct']})", b, "incidents"),
        "",
        f"- Storm incident {s['incident']}: `duplicates` = {s['duplicates_counted']:,} for "
        f"{s['accepted']:,} accepted, "
        + (f"{s['counted_after_s']} s after the last POST" if s["counted_after_s"] is not None
           else "still short at the phase timeout")
        + f"; shield entry TTL left at storm start {s['shield_entry_ttl_left_s']} s; "
        f"answers {s['statuses']}.",
        f"- History events added by the storm: incident {s['incident_events_added']} "
        f"(target ≤ 100; {types(s['incident_events_by_type'])}), alert group "
        f"{s['group_events_added']} ({types(s['group_events_by_type'])}).",
        f"- CPU seconds during the storm ({s['seconds']} s): {cpu(s['cpu_seconds'])}; "
        f"CPU ms per alert: {cpu(s['cpu_ms_per_alert'], 3)}. CPU ms per request: client "
        f"against the canned server {cpu(p['client_ceiling']['cpu_ms_per_request'], 3)}; "
        f"serve's 404 {cpu(p['serve_404_floor']['cpu_ms_per_request'], 3)}.",
        f"- Burst: {b['incidents_opened']} incidents acknowledged ({b['incidents_in_temporal']} "
        f"in Temporal after the wait), answers {b['statuses']}; {b['mitigations_seen']} flag "
        f"activities seen started; POST → flag activity started p50 "
        f"{b['p50_post_to_mitigation_s']} s, p99 {b['p99_post_to_mitigation_s']} s, max "
        f"{b['max_post_to_mitigation_s']} s. CPU seconds during the burst's POSTs "
        f"({b['seconds']} s): {cpu(b['cpu_seconds'])}.",
        f"- Peak RSS: worker {r['worker_peak_rss_mb']} MiB, serve {r['serve_peak_rss_mb']} MiB.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duplicates", type=int, default=10_000,
                        help="copies of one alert after the first (default 10,000)")
    parser.add_argument("--distinct", type=int, default=300,
                        help="new alert groups in the burst (default 300)")
    parser.add_argument("--in-flight", type=int, default=100,
                        help="requests outstanding at once (default 100)")
    parser.add_argument("--phase-timeout", type=float, default=600.0,
                        help="seconds each wait may take (the storm's count, the mitigations)")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    parser.add_argument("--logs", type=Path, metavar="DIR",
                        help="copy the servers' logs (serve, worker, temporal, redis) to DIR")
    parser.add_argument("--profile-serve", type=Path, metavar="FILE",
                        help="py-spy (pip install py-spy) samples serve during the storm into FILE")
    args = parser.parse_args()
    configure_logging("WARNING")
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2) if args.json else markdown(report))


if __name__ == "__main__":
    main()
