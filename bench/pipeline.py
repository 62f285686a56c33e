"""Benchmark: the incident pipeline against bare Temporal, on one machine, in one run.

Starts its own Temporal dev server and redis-server, then measures
  (a) bare: N concurrent workflows of ``bare.ACTIVITIES`` no-op activities each, and
      idle, one at a time: start → its one activity scheduled / started;
  (b) floor: bare Temporal in the design card's shape (``floor.py``: five child phases,
      no-op activities), idle (start → mitigation scheduled / started, history events
      per execution) and in a burst of N (throughput, start → mitigation started
      p50/p99, worker peak RSS): what the shape alone costs;
  (c) idle pipeline, one alert at a time: alert POST → first mitigation scheduled /
      started, and history events per incident by execution (one-step runbook, a
      verify window of 5 polls);
  (d) burst: N concurrent alerts (zero-length verify windows): throughput, alert →
      first mitigation started p50/p99, worker peak RSS;
  (e) recovery: a worker SIGKILLed mid-mitigation, then a new one: its start → the
      interrupted step completed.
Usage: python bench/pipeline.py [--n 200] [--idle 8] [--cache 80] [--floor-poll 1.0]
                                [--parts bare,floor,idle,burst]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from temporalio.client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.floor import floor  # noqa: E402
from bench.history import first_mitigation  # noqa: E402
from bench.idle import bare_idle, mean_cost, pipeline_idle  # noqa: E402
from bench.measure import RssSampler, pct  # noqa: E402
from bench.recovery import recovery  # noqa: E402
from remediator.devstack.servers import RedisServer, TemporalDevServer, free_port  # noqa: E402
from remediator.logging import configure_logging  # noqa: E402
from remediator.settings import Settings  # noqa: E402
from remediator.temporal import connect  # noqa: E402
from tests.conftest import ServerThread  # noqa: E402
from tests.support.alerts import alertmanager_payload  # noqa: E402
from tests.support.env import settings_env  # noqa: E402


async def bare(address: str, n: int, idle: int) -> dict[str, float]:
    from bench.bare import ACTIVITIES, BareWorkflow

    queue = f"bare-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare.py"), address, queue],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = RssSampler(worker.pid)
    client = await Client.connect(address)
    quiet = await bare_idle(client, queue, idle)
    start = time.monotonic()
    handles = await asyncio.gather(*[
        client.start_workflow(BareWorkflow.run, ACTIVITIES, id=f"{queue}-{i}", task_queue=queue)
        for i in range(n)])
    await asyncio.gather(*[h.result() for h in handles])
    elapsed = time.monotonic() - start
    worker.kill()
    return {"seconds": elapsed, "per_second": n / elapsed, "rss_mb": sampler.stop(), **quiet}


async def quiet_pipeline(settings: Settings, idle: int, workdir: Path,
                         show_kinds: bool = False) -> dict[str, object]:
    """One alert at a time, then a crash mid-mitigation and the recovery."""
    env = settings_env(settings)
    log = workdir / "worker-idle.log"
    worker = subprocess.Popen([sys.executable, "-m", "workers.main"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    client = await connect(settings)
    async with ServerThread(settings) as server, httpx.AsyncClient(timeout=120) as http:
        try:
            latency, costs = await pipeline_idle(client, http, server.base, settings.redis_url,
                                                 idle, show_kinds)
        finally:
            worker.kill()
            worker.wait()
        recovered = await recovery(client, http, server.base, settings.redis_url, env, ROOT,
                                   log)
    return {**latency, "events_per_incident": mean_cost(costs), **recovered}


async def started_rss(pid: int, log: Path) -> float:
    """The worker's RSS (MiB) once it has started, before any incident: what the burst's
    peak is measured against."""
    deadline = time.monotonic() + 60
    while b"worker.started" not in log.read_bytes():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start; see {log}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # its pollers connected
    rss: float = psutil.Process(pid).memory_info().rss / 2**20
    return rss


async def pipeline(settings: Settings, n: int, workdir: Path) -> dict[str, float]:
    env = settings_env(settings)
    log = workdir / "worker.log"
    worker = subprocess.Popen([sys.executable, "-m", "workers.main"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    sampler = RssSampler(worker.pid)
    started = await started_rss(worker.pid, log)
    client = await connect(settings)
    async with ServerThread(settings) as server, httpx.AsyncClient(timeout=120) as http:
        refused = dropped = 0

        async def post(i: int) -> tuple[str, float]:
            """Sent as Alertmanager would: a 503 (not routed in time) or a dropped
            connection is retried after a pause; latencies count from the first attempt."""
            nonlocal refused, dropped
            sent = time.time()
            body = alertmanager_payload("TestFlagAlert", case=f"bench{i}")
            while True:
                try:
                    resp = await http.post(f"{server.base}/v1/alerts/alertmanager", json=body)
                except httpx.TransportError:
                    dropped += 1
                else:
                    if resp.status_code != 503:
                        return resp.json()["incidents"][0]["id"], sent
                    refused += 1
                await asyncio.sleep(1.0)

        start = time.monotonic()
        posted = await asyncio.gather(*[post(i) for i in range(n)])
        await asyncio.gather(*[client.get_workflow_handle(i).result() for i, _ in posted])
        elapsed = time.monotonic() - start
    worker.kill()
    latencies = [(await first_mitigation(client, i))[1] - sent for i, sent in posted]
    return {"seconds": elapsed, "per_second": n / elapsed, "rss_mb": sampler.stop(),
            "rss_started_mb": started, "p50_alert_to_mitigation_s": pct(latencies, 0.5),
            "p99_alert_to_mitigation_s": pct(latencies, 0.99), "answered_503": refused,
            "connections_dropped": dropped}


async def main(n: int, idle: int, cache: int | None, show_kinds: bool,
               parts: set[str], floor_poll: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        temporal = TemporalDevServer(workdir / "temporal", port=free_port(), ui_port=None)
        redis = RedisServer(workdir / "redis", port=free_port())
        temporal.start()
        redis.start()
        try:
            settings = Settings(
                temporal_address=temporal.address, redis_url=redis.url,
                task_queue="bench", state_dir=workdir / "state",
                **({"worker_max_cached_workflows": cache} if cache is not None else {}),
                runbook_dir=ROOT / "tests" / "runbooks", flag_allowlist=["test-*"],
                verify_window_p0_p1_seconds=0, verify_window_p2_p3_seconds=0,
                verify_interval_seconds=0.01,
            )
            import redis as sync_redis

            r = sync_redis.Redis.from_url(redis.url)
            for i in range(n):
                r.set(f"health:bench{i}", "ok")
            base = await bare(temporal.address, n, idle) if "bare" in parts else {}
            print(json.dumps({"base": base}), file=sys.stderr, flush=True)
            shape = await floor(temporal.address, n, idle, floor_poll) if "floor" in parts else {}
            print(json.dumps({"floor": shape}), file=sys.stderr, flush=True)
            # Five verify polls per incident, in a window long enough (30 s) that its
            # progress is sent live, as in production (seed 04: 15-30 min windows).
            polled = settings.model_copy(update={
                "task_queue": "bench-idle", "verify_interval_seconds": 6.0,
                "verify_window_p0_p1_seconds": 30.0, "verify_window_p2_p3_seconds": 30.0})
            quiet = (await quiet_pipeline(polled, idle, workdir, show_kinds)
                     if "idle" in parts else {})
            print(json.dumps({"quiet": quiet}), file=sys.stderr, flush=True)
            pipe = await pipeline(settings, n, workdir) if "burst" in parts else {}
        finally:
            redis.stop()
            temporal.stop()
    report: dict[str, object] = {
        "n": n, "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "bare": base, "floor": shape, "idle": quiet, "pipeline": pipe,
    }
    if base and shape:
        report["ratio_floor_idle_over_bare"] = (
            shape["start_to_mitigation_started_ms"] / base["start_to_activity_started_ms"])
    if base and quiet:
        report["ratio_idle_pipeline_over_bare"] = (
            quiet["alert_to_mitigation_started_ms"]  # type: ignore[operator]
            / base["start_to_activity_started_ms"])
    if base and pipe:
        report["ratio_throughput_pipeline_over_bare"] = pipe["per_second"] / base["per_second"]
        report["ratio_rss_pipeline_over_bare"] = pipe["rss_mb"] / base["rss_mb"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="concurrent incidents")
    parser.add_argument("--idle", type=int, default=8, help="incidents one at a time")
    parser.add_argument("--cache", type=int, default=None,
                        help="the worker's workflow cache size (default: the setting's)")
    parser.add_argument("--event-kinds", action="store_true",
                        help="print the first idle incident's history events by type, "
                        "and the last one's events up to its first mitigation, timed")
    parser.add_argument("--floor-poll", type=float, default=1.0,
                        help="seconds between the floor's verify polls when idle "
                        "(its burst polls every 0.01 s)")
    parser.add_argument("--parts", default="bare,floor,idle,burst",
                        help="which parts to run (comma-separated: bare, floor, idle, "
                        "burst); the ratios need bare")
    configure_logging("WARNING")  # the report alone on stdout, not one line per alert
    args = parser.parse_args()
    asyncio.run(main(args.n, args.idle, args.cache, args.event_kinds,
                     set(args.parts.split(",")), args.floor_poll))
