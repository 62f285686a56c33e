"""Benchmark: the incident pipeline against bare Temporal, on one machine.

Starts its own Temporal dev server and redis-server, then
  (a) bare: N concurrent workflows of ``bare.ACTIVITIES`` no-op activities each;
  (b) pipeline: N concurrent alerts POSTed to the webhook server, zero-length waits,
and reports throughput, alert → first mitigation activity started (p50/p99), worker
peak RSS, and pipeline/bare ratios.  Usage: python bench/pipeline.py [--n 200]
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
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import RssSampler, pct  # noqa: E402
from remediator.devstack.servers import RedisServer, TemporalDevServer, free_port  # noqa: E402
from remediator.logging import configure_logging  # noqa: E402
from remediator.settings import Settings  # noqa: E402
from remediator.temporal import connect  # noqa: E402
from tests.conftest import ServerThread  # noqa: E402
from tests.support.alerts import alertmanager_payload  # noqa: E402
from tests.support.env import settings_env  # noqa: E402


async def bare(address: str, n: int, workdir: Path) -> dict[str, float]:
    from bench.bare import ACTIVITIES, BareWorkflow

    queue = f"bare-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare.py"), address, queue],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = RssSampler(worker.pid)
    client = await Client.connect(address)
    start = time.monotonic()
    handles = await asyncio.gather(*[
        client.start_workflow(BareWorkflow.run, ACTIVITIES, id=f"{queue}-{i}", task_queue=queue)
        for i in range(n)])
    await asyncio.gather(*[h.result() for h in handles])
    elapsed = time.monotonic() - start
    worker.kill()
    return {"seconds": elapsed, "per_second": n / elapsed, "rss_mb": sampler.stop()}


async def first_mitigation_started(client: Client, incident_id: str) -> float:
    async for event in client.get_workflow_handle(f"{incident_id}/mitigate").fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            return event.event_time.ToDatetime().timestamp()
    raise RuntimeError(f"{incident_id}: no mitigation activity started")


async def pipeline(settings: Settings, n: int, workdir: Path) -> dict[str, float]:
    env = settings_env(settings)
    worker = subprocess.Popen([sys.executable, "-m", "workers.main"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=(workdir / "worker.log").open("wb"))
    sampler = RssSampler(worker.pid)
    client = await connect(settings)
    async with ServerThread(settings) as server, httpx.AsyncClient(timeout=120) as http:
        async def post(i: int) -> tuple[str, float]:
            sent = time.time()
            body = alertmanager_payload("TestFlagAlert", case=f"bench{i}")
            resp = await http.post(f"{server.base}/v1/alerts/alertmanager", json=body)
            return resp.json()["incidents"][0]["id"], sent

        start = time.monotonic()
        posted = await asyncio.gather(*[post(i) for i in range(n)])
        await asyncio.gather(*[client.get_workflow_handle(i).result() for i, _ in posted])
        elapsed = time.monotonic() - start
    worker.kill()
    latencies = [await first_mitigation_started(client, i) - sent for i, sent in posted]
    return {"seconds": elapsed, "per_second": n / elapsed, "rss_mb": sampler.stop(),
            "p50_alert_to_mitigation_s": pct(latencies, 0.5),
            "p99_alert_to_mitigation_s": pct(latencies, 0.99)}


async def main(n: int) -> None:
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
                runbook_dir=ROOT / "tests" / "runbooks", flag_allowlist=["test-*"],
                verify_window_p0_p1_seconds=0, verify_window_p2_p3_seconds=0,
                verify_interval_seconds=0.01,
            )
            import redis as sync_redis

            r = sync_redis.Redis.from_url(redis.url)
            for i in range(n):
                r.set(f"health:bench{i}", "ok")
            base = await bare(temporal.address, n, workdir)
            pipe = await pipeline(settings, n, workdir)
        finally:
            redis.stop()
            temporal.stop()
    report = {
        "n": n, "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "bare": base, "pipeline": pipe,
        "ratio_throughput_pipeline_over_bare": pipe["per_second"] / base["per_second"],
        "ratio_rss_pipeline_over_bare": pipe["rss_mb"] / base["rss_mb"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="concurrent incidents")
    configure_logging("WARNING")  # the report alone on stdout, not one line per alert
    asyncio.run(main(parser.parse_args().n))
