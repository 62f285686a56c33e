"""``remediator dev``: the embedded stack starts, serves, stops cleanly on Ctrl-C, and a
restarted stack finds its incidents again in the state directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

from tests.support.alerts import alertmanager_payload


@contextmanager
def dev_stack(state_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str, list[psutil.Process]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "TEMPORAL_"))}
    proc = subprocess.Popen([sys.executable, "-m", "starters.cli", "dev", "--state-dir",
                             str(state_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "up. Ctrl-C" in line or not line:
            break
    output = "".join(lines)
    match = re.search(r"webhook server at (http://\S+);", output)
    assert match, output
    children = psutil.Process(proc.pid).children(recursive=True)
    try:
        yield proc, match.group(1), children
    finally:
        if proc.poll() is None:
            proc.kill()


def test_dev_stack_stops_cleanly_and_keeps_its_incidents(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with dev_stack(state) as (proc, base, children):
        assert len(children) >= 4  # temporal, redis, worker, webhook (and kube if built)
        assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        resp = httpx.post(f"{base}/v1/alerts/alertmanager", timeout=30,
                          json=alertmanager_payload("NoRunbookAlert", service="billing"))
        incident_id = resp.json()["incidents"][0]["id"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [p.pid for p in alive]
    assert (state / "temporal.sqlite").exists()
    with dev_stack(state) as (proc, base, _):
        def found() -> dict[str, object] | None:
            got = httpx.get(f"{base}/v1/incidents/{incident_id}", timeout=10)
            return got.json() if got.status_code == 200 else None

        deadline, view = time.monotonic() + 60, None
        while view is None and time.monotonic() < deadline:
            view = found()
            time.sleep(0.5)
        assert view is not None and view["id"] == incident_id
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
