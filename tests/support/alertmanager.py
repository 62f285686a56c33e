"""Debian's ``prometheus-alertmanager`` on loopback, routing every alert to one webhook."""

from __future__ import annotations

import shutil
from pathlib import Path

from remediator.devstack.servers import Server


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class AlertmanagerServer(Server):
    """Groups by alertname and case, waits 1 s, sends resolved alerts too, with a bearer token."""

    def __init__(self, binary: str, workdir: Path, port: int, webhook_url: str, token: str) -> None:
        super().__init__("alertmanager", workdir)
        self.binary, self.port = binary, port
        self.webhook_url, self.token = webhook_url, token

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
            f"            credentials: '{self.token}'\n")
        self._spawn([self.binary, f"--config.file={config}",
                     f"--storage.path={self.workdir / 'data'}",
                     f"--web.listen-address={self.address}", "--cluster.listen-address=",
                     "--log.level=warn"], self.port, timeout)
