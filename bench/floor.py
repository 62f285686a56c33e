"""Bare Temporal in the design card's shape: the structural floor of our targets, measured.

An incident is five child workflows run one after another, each at its leanest: detect
(a local activity, as our runbook lookup is), triage, mitigate and postmortem (one no-op
activity each), verify (one activity heartbeating its 5 polls, as ``watch_window`` does).
No signals, search attributes or timers: what is left is what the shape itself costs.
Its worker is its own process (``python bench/floor.py ADDRESS QUEUE``), like bare.py's.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

PHASES = ("detect", "triage", "mitigate", "verify", "postmortem")
POLLS = 5  # the idle pipeline's verify window: 5 polls
BURST_POLL_SECONDS = 0.01  # the burst pipeline's verify_interval_seconds
TIMEOUT = timedelta(seconds=30)
# As our mitigation and verify activities: a lost worker is noticed within 3 s. With a
# heartbeat timeout the SDK sends heartbeats to the server (throttled to 0.8 × it).
HEARTBEAT = timedelta(seconds=3)


@activity.defn
async def noop(i: int) -> int:
    return i


@activity.defn
async def watch(poll_seconds: float) -> int:
    """No-op polls, each round's count in a heartbeat, as our verify window carries its
    rounds so that a retry resumes them."""
    for poll in range(1, POLLS + 1):
        await asyncio.sleep(poll_seconds)
        activity.heartbeat(poll)
    return POLLS


@workflow.defn
class FloorPhase:
    @workflow.run
    async def run(self, phase: str, poll_seconds: float) -> int:
        if phase == "detect":  # a marker in the phase's history, no activity task round trip
            return await workflow.execute_local_activity(noop, 0, start_to_close_timeout=TIMEOUT)
        if phase == "verify":
            return await workflow.execute_activity(watch, poll_seconds, start_to_close_timeout=TIMEOUT,
                                                   heartbeat_timeout=HEARTBEAT)
        return await workflow.execute_activity(noop, 0, start_to_close_timeout=TIMEOUT)


@workflow.defn
class FloorIncident:
    @workflow.run
    async def run(self, poll_seconds: float) -> int:
        incident = workflow.info().workflow_id
        for phase in PHASES:
            await workflow.execute_child_workflow(FloorPhase.run, args=[phase, poll_seconds],
                                                  id=f"{incident}/{phase}")
        return len(PHASES)


async def floor(address: str, n: int, idle: int, idle_poll_seconds: float = 1.0) -> dict[str, float]:
    """Idle, one incident at a time: start → the mitigate child's activity scheduled and
    started (median ms) and history events per execution (mean); then a burst of ``n``:
    wall time, start → mitigation started p50/p99, the worker's peak RSS."""
    # Imported here, not above, so that the worker process (this file as a script) loads
    # temporalio alone, as bare.py's does: their peak RSS compare.
    from bench.history import first_mitigation, incident_cost
    from bench.idle import mean_cost
    from bench.measure import RssSampler, pct

    queue = f"floor-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), address, queue],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = RssSampler(worker.pid)
    try:
        client = await Client.connect(address)
        scheduled, started, costs = [], [], []
        for i in range(idle):
            incident = f"{queue}-idle-{i}"
            sent = time.time()
            await client.execute_workflow(FloorIncident.run, idle_poll_seconds, id=incident,
                                          task_queue=queue)
            at_scheduled, at_started = await first_mitigation(client, incident)
            scheduled.append(at_scheduled - sent)
            started.append(at_started - sent)
            costs.append(await incident_cost(client, incident, None))

        async def burst_one(i: int) -> float:
            sent = time.time()
            await client.execute_workflow(FloorIncident.run, BURST_POLL_SECONDS,
                                          id=f"{queue}-{i}", task_queue=queue)
            return sent

        start = time.monotonic()
        starts = await asyncio.gather(*[burst_one(i) for i in range(n)])
        elapsed = time.monotonic() - start
    finally:
        worker.kill()
        worker.wait()
    latencies = [(await first_mitigation(client, f"{queue}-{i}"))[1] - s for i, s in enumerate(starts)]
    quiet: dict[str, float] = {}
    if idle:
        cost = mean_cost(costs)
        quiet = {"start_to_mitigation_scheduled_ms": statistics.median(scheduled) * 1000,
                 "start_to_mitigation_started_ms": statistics.median(started) * 1000,
                 "events_per_incident": cost.pop("total"), "executions": cost.pop("executions"),
                 **{f"events_{name}": count for name, count in cost.items()}}
    return {**quiet, "seconds": elapsed, "per_second": n / elapsed, "rss_mb": sampler.stop(),
            "p50_start_to_mitigation_s": pct(latencies, 0.5),
            "p99_start_to_mitigation_s": pct(latencies, 0.99)}


async def main(address: str, queue: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=queue, workflows=[FloorIncident, FloorPhase],
                      activities=[noop, watch]):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
