"""Recovery after a crash: a worker SIGKILLed in the middle of a mitigation (after its
write, before it reported), then a new worker: how long from the new worker's start
until the interrupted step completes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from bench.history import step_completed
from bench.idle import healthy
from tests.support.alerts import alertmanager_payload

CRASH_POINT = "feature_flags.set_flag.after_write"


def _worker(env: dict[str, str], root: Path, log: Path, crash: bool) -> subprocess.Popen[bytes]:
    env = {**env, "REMEDIATOR_CRASH_AT": CRASH_POINT} if crash else {
        k: v for k, v in env.items() if k != "REMEDIATOR_CRASH_AT"}
    return subprocess.Popen([sys.executable, "-m", "workers.main"], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


async def recovery(client: Client, http: httpx.AsyncClient, base: str, redis_url: str,
                   env: dict[str, str], root: Path, log: Path) -> dict[str, float]:
    doomed = _worker(env, root, log, crash=True)
    case = uuid.uuid4().hex[:8]
    await healthy(redis_url, case)
    body = alertmanager_payload("TestFlagAlert", case=case)
    resp = await http.post(f"{base}/v1/alerts/alertmanager", json=body)
    incident_id = resp.json()["incidents"][0]["id"]
    while doomed.poll() is None:  # it kills itself at the crash point
        await asyncio.sleep(0.05)
    restarted_at = time.time()
    fresh = _worker(env, root, log, crash=False)
    try:
        await client.get_workflow_handle(incident_id).result()
        completed = await step_completed(client, incident_id)
    finally:
        fresh.kill()
    return {"new_worker_start_to_step_completed_s": completed - restarted_at}
