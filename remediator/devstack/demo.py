"""The demo: a pretend checkout service whose health follows its feature flag.

While ``checkout-v2`` is on, the service reports ``health:checkout = failing``;
once the incident turns the flag off, it reports ``ok`` and verification passes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

FLAGS = "remediator:flags:production"
SAMPLE_ALERT = Path(__file__).parents[1] / "examples" / "alertmanager-checkout.json"


class CheckoutService:
    """Reports its health to Redis every ``period`` seconds in a background thread."""

    def __init__(self, redis_url: str, period: float = 0.5) -> None:
        self._redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="demo-checkout")

    def start(self) -> None:
        self._redis.hset(FLAGS, "checkout-v2", "on")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            flag = self._redis.hget(FLAGS, "checkout-v2")
            self._redis.set("health:checkout", "ok" if flag == "off" else "failing")
            self._stop.wait(self._period)


def sample_alert() -> dict[str, Any]:
    """The packaged Alertmanager payload about the checkout service."""
    payload: dict[str, Any] = json.loads(SAMPLE_ALERT.read_text())
    return payload


def send_alert(base_url: str, payload: dict[str, Any]) -> str:
    """Post an Alertmanager payload to the (loopback, token-less) dev webhook; the incident id."""
    resp = httpx.post(f"{base_url}/v1/alerts/alertmanager", json=payload, timeout=30)
    resp.raise_for_status()
    incident_id: str = resp.json()["incidents"][0]["id"]
    return incident_id


def follow(base_url: str, incident_id: str, timeout: float,
           out: Callable[[str], None] = print) -> dict[str, Any]:
    """Print each new timeline entry until the incident is done; return its final state."""
    seen, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = httpx.get(f"{base_url}/v1/incidents/{incident_id}", timeout=10)
        if resp.status_code == 200:
            state: dict[str, Any] = resp.json()
            for entry in state["timeline"][seen:]:
                out(f"  {entry['at'][11:19]}Z {entry['phase'] or '':10} {entry['kind']:24} "
                    f"{entry['detail']}")
            seen = len(state["timeline"])
            if state["phase"] == "done":
                return state
        time.sleep(0.5)
    raise TimeoutError(f"{incident_id} not done after {timeout}s")
