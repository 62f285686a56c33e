"""Debian's ``prometheus-alertmanager`` on loopback, routing every alert to one webhook."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from remediator.devstack.servers import Server


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class AlertmanagerServer(Server):
    """Groups by alertname and case, waits 1 s, sends resolved alerts too, with a bearer token."""

    def __init__(self, binary: str, workdir: Path, port: int, webhook_url: str, token: str,
                 extra_config: str = "") -> None:
        super().__init__("alertmanager", workdir)
        self.binary, self.port = binary, port
        self.webhook_url, self.token = webhook_url, token
        self.extra_config = extra_config  # more top-level YAML, e.g. inhibit_rules

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(
            "route:\n  receiver: remediator\n  group_by: [alertname, case]\n"
            "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
            "receivers:\n  - name: remediator\n    webhook_configs:\n"
            f"      - url: '{self.webhook_url}'\n        send_resolved: true\n"
            "        http_config:\n          authorization:\n            type: Bearer\n"
            f"            credentials: '{self.token}'\n" + self.extra_config)
        self._spawn([self.binary, f"--config.file={config}",
                     f"--storage.path={self.workdir / 'data'}",
                     f"--web.listen-address={self.address}", "--cluster.listen-address=",
                     "--log.level=warn"], self.port, timeout)


async def post_alert(url: str, labels: dict[str, str], resolved: bool = False) -> None:
    """Hand Alertmanager an alert as Prometheus does (``resolved``: it ended just now)."""
    alert: dict[str, object] = {"labels": labels}
    if resolved:
        alert["endsAt"] = _iso(datetime.now(UTC) - timedelta(seconds=1))
    async with httpx.AsyncClient() as http:
        (await http.post(f"{url}/api/v2/alerts", json=[alert], timeout=5)).raise_for_status()


async def add_silence(url: str, labels: dict[str, str], by: str, comment: str) -> str:
    """A silence of exactly these label values for an hour, as a human makes one."""
    now = datetime.now(UTC)
    body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                         for k, v in labels.items()],
            "startsAt": _iso(now), "endsAt": _iso(now + timedelta(hours=1)),
            "createdBy": by, "comment": comment}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{url}/api/v2/silences", json=body, timeout=5)
        response.raise_for_status()
        return str(response.json()["silenceID"])


async def silences(url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/api/v2/silences", timeout=5)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
