"""AWS for the tests: ``moto_server`` on loopback, recording every request it serves.

The recording lets a test count the real API calls a mitigation made (e.g. exactly
one UpdateAlias after a worker was killed mid-activity).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3

from remediator.devstack.servers import Server, wait_for_port


class MotoServer(Server):
    """``moto_server -H 127.0.0.1 -p PORT`` from the venv, with request recording on."""

    def __init__(self, workdir: Path, port: int) -> None:
        super().__init__("moto", workdir)
        self.port = port
        self.recording = workdir / "recording.jsonl"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS environment that points boto3 (and worker processes) here."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1"}

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        binary = Path(sys.executable).parent / "moto_server"
        env = {**os.environ, "MOTO_ENABLE_RECORDING": "True",
               "MOTO_RECORDER_FILEPATH": str(self.recording)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(binary), "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        wait_for_port(self.port, self.proc, self.log, timeout)

    def client(self, service: str) -> Any:
        """A boto3 client with endpoint and credentials passed explicitly."""
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def requests(self) -> list[dict[str, Any]]:
        if not self.recording.exists():
            return []
        lines = self.recording.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def query_calls(self, action: str, **params: str) -> int:
        """Query-protocol calls (e.g. autoscaling) of ``action`` with these parameters."""
        count = 0
        for req in self.requests():
            body = req.get("body") or ""
            if req.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if form.get("Action") == action and all(form.get(k) == v for k, v in params.items()):
                count += 1
        return count

    def rest_calls(self, method: str, path_suffix: str) -> int:
        """REST calls (e.g. Lambda ``PUT …/aliases/NAME``) by method and path."""
        return sum(
            1 for req in self.requests()
            if req.get("method") == method and urlparse(req["url"]).path.endswith(path_suffix)
        )
