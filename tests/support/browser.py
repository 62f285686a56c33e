"""Headless Chromium (Debian ``chromium``): a page as a user sees it — its visible text
(``innerText``, through the DevTools protocol) and a screenshot."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


REPO = Path(__file__).resolve().parents[2]


def shots_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: ``REMEDIATOR_SCREENSHOTS`` (e.g. ``docs``, relative
    to the repository) refreshes the README's, else the test's own temporary directory,
    so that a test run never rewrites a tracked file."""
    where = os.environ.get("REMEDIATOR_SCREENSHOTS")
    return REPO / where if where else tmp_path


def screenshot(url: str, path: Path, width: int = 900, height: int = 1100) -> None:
    """A PNG of ``url`` at the given viewport."""
    exe = chromium_path()
    assert exe is not None, "chromium is not installed (scripts/setup.sh installs it)"
    with tempfile.TemporaryDirectory(prefix="chromium-shot-") as profile:
        subprocess.run([exe, *FLAGS, f"--screenshot={path}", f"--window-size={width},{height}",
                        f"--user-data-dir={profile}", url],
                       check=True, capture_output=True, timeout=60)


class Browser:
    """One headless Chromium with remote debugging, for reading pages as rendered."""

    def __init__(self, profile: Path) -> None:
        self._profile = profile
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0

    def __enter__(self) -> Browser:
        exe = chromium_path()
        assert exe is not None, "chromium is not installed (scripts/setup.sh installs it)"
        self._proc = subprocess.Popen([exe, *FLAGS, "--remote-debugging-port=0",
                                       f"--user-data-dir={self._profile}", "about:blank"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        marker = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not marker.exists() or not marker.read_text().strip():
            assert time.monotonic() < deadline, "chromium did not start its DevTools server"
            time.sleep(0.05)
        self._port = int(marker.read_text().split()[0])
        return self

    def __exit__(self, *_: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)

    async def visible_text(self, url: str) -> str:
        """``document.body.innerText`` of ``url`` once it has loaded."""
        async with httpx.AsyncClient() as http:
            target = (await http.put(f"http://127.0.0.1:{self._port}/json/new?{url}")).json()
        async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            for _ in range(200):
                state = await self._evaluate(ws, "document.readyState + '|' + location.href")
                if state.startswith("complete|") and state.endswith(url.split("://", 1)[1]):
                    break
                await asyncio.sleep(0.05)
            text: str = await self._evaluate(ws, "document.body.innerText")
        return text

    @staticmethod
    async def _evaluate(ws: Any, expression: str) -> Any:
        await ws.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                  "params": {"expression": expression, "returnByValue": True}}))
        while True:
            answer = json.loads(await ws.recv())
            if answer.get("id") == 1:
                return answer["result"]["result"].get("value", "")
