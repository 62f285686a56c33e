"""A worker in its own process, so a test can SIGKILL it at a chosen point."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from remediator.settings import Settings
from tests.support.env import settings_env


class WorkerProcess:
    """``python -m workers.main`` with the test's settings; ``crash_at`` arms a crash point."""

    def __init__(self, settings: Settings, log_dir: Path, crash_at: str | None = None) -> None:
        self._env = settings_env(settings)
        if crash_at:
            self._env["REMEDIATOR_CRASH_AT"] = crash_at
        else:
            self._env.pop("REMEDIATOR_CRASH_AT", None)
        self._log = log_dir / "worker.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()

    def start(self) -> None:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "workers.main"], env=self._env,
                                         stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight activities are simply lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()
