"""Headless Chromium (Debian ``chromium``) for single-page apps such as the Temporal UI,
driven over the DevTools protocol: open a page as a user would, wait until what it
fetches is rendered, read it (iframes included) and take a screenshot. (``browser.py``
reads a server-rendered page's ``innerText`` once it has loaded.)

``chromium --dump-dom`` returns before a single-page app such as the Temporal UI has
fetched its data (and ``--virtual-time-budget`` never settles while it polls), and the
UI renders Markdown details inside iframes. So the page is read through the DevTools
protocol: its whole DOM, iframes included, until the expected text is there.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import websockets


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium not found: install the Debian package `chromium` "
                    "(scripts/setup.sh does)")
    return found


class Browser:
    """One headless Chromium with one page; ``async with Browser() as b: await b.read(url,
    "text")``."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.width, self.height = width, height
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-",
                                                    ignore_cleanup_errors=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: Any = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Browser:
        profile = Path(self._profile.name)
        self._proc = subprocess.Popen(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port, path = await self._devtools(profile / "DevToolsActivePort")
            page = await self._page_socket(port, path)
            self._ws = await websockets.connect(page, max_size=64 * 1024 * 1024)
            await self._call("Page.enable")
            await self._call("Emulation.setDeviceMetricsOverride", width=self.width,
                             height=self.height, deviceScaleFactor=1, mobile=False)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._profile.cleanup()

    async def _devtools(self, active: Path, timeout: float = 30.0) -> tuple[int, str]:
        """Chromium writes the port it chose (``--remote-debugging-port=0``) and the
        browser's DevTools path to a file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode}")
            if active.exists() and len(lines := active.read_text().split()) == 2:
                return int(lines[0]), lines[1]
            await asyncio.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    async def _page_socket(self, port: int, path: str) -> str:
        async with websockets.connect(f"ws://127.0.0.1:{port}{path}") as browser:
            await browser.send(json.dumps({"id": 1, "method": "Target.getTargets"}))
            while True:
                answer = json.loads(await browser.recv())
                if answer.get("id") == 1:
                    break
        page = next(t for t in answer["result"]["targetInfos"] if t["type"] == "page")
        return f"ws://127.0.0.1:{port}/devtools/page/{page['targetId']}"

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:  # events in between are not needed here
            message = json.loads(await self._ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def goto(self, url: str) -> None:
        await self._call("Page.navigate", url=url)

    async def text(self) -> str:
        """Every text node of the page, iframes included, joined by single spaces (so a
        sentence with an inline ``code`` span still reads as one)."""
        root = (await self._call("DOM.getDocument", depth=-1, pierce=True))["root"]
        out: list[str] = []
        _texts(root, out)
        return " ".join(" ".join(out).split())

    async def read(self, url: str, *expected: str, timeout: float = 60.0) -> str:
        """Open ``url`` and return its text once every one of ``expected`` is on the page
        (the app fetches its data after it loads); fail with what it showed instead."""
        await self.goto(url)
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = await self.text()
            if all(e in shown for e in expected):
                return shown
            await asyncio.sleep(0.25)
        missing = [e for e in expected if e not in shown]
        raise AssertionError(f"{url} never showed {missing}; it showed:\n{shown[-3000:]}")

    async def scroll_to(self, heading: str) -> None:
        """Scroll the first heading reading ``heading`` to the top of the window."""
        script = ("[...document.querySelectorAll('h1,h2,h3')].find(h => h.textContent.trim() "
                  f"=== {json.dumps(heading)})?.scrollIntoView()")
        await self._call("Runtime.evaluate", expression=script)

    async def screenshot(self, path: Path) -> None:
        shot = await self._call("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


def _texts(node: dict[str, Any], out: list[str]) -> None:
    if node.get("nodeType") == 3 and node.get("nodeValue", "").strip():
        out.append(node["nodeValue"].strip())
    if node.get("nodeName") in ("SCRIPT", "STYLE"):
        return
    for child in node.get("children", []):
        _texts(child, out)
    if "contentDocument" in node:
        _texts(node["contentDocument"], out)
