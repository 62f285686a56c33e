"""PostgreSQL for the tests: Debian's ``postgresql`` (15) in a temp dir, and real
long-running queries (``pg_sleep``) from other sessions.

The cluster is made by ``initdb`` and runs ``postgres`` in the foreground as the
``postgres`` user when the tests run as root (initdb refuses root). Roles: the
superuser ``postgres`` (local socket, trust), ``remediator`` (password over TCP,
member of ``pg_signal_backend`` and ``pg_read_all_stats``, as a production worker
would be) and plain application users.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg

from remediator.devstack.servers import ServerFailed, free_port, wait_for_port
from tests.support.polling import eventually

BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]
APP_USERS = ("app", "reporting")


def postgres_available() -> bool:
    return (BIN / "initdb").exists()


class PostgresServer:
    """One cluster on 127.0.0.1:``port``; its socket and data in a private temp dir."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="remediator-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as = "postgres" if os.geteuid() == 0 else None

    def _run(self, argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, user=self._as)

    def start(self, timeout: float = 60.0) -> None:
        if self._as:
            entry = pwd.getpwnam(self._as)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"])
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                stdout=out, stderr=subprocess.STDOUT, user=self._as, start_new_session=True)
        wait_for_port(self.port, self.proc, self.log, timeout)
        self._wait_accepting(timeout)
        self._roles()

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.admin_dsn()).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise ServerFailed(f"postgres not accepting connections; see {self.log}")

    def _roles(self) -> None:
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE remediator LOGIN PASSWORD '{PASSWORD}' "
                         "IN ROLE pg_signal_backend, pg_read_all_stats")
            for user in APP_USERS:
                conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute("CREATE DATABASE shop")
            conn.execute("CREATE DATABASE analytics")

    def admin_dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.dir} port={self.port} user=postgres dbname={dbname}"

    def dsn(self, dbname: str = "shop", user: str = "remediator") -> str:
        """A TCP DSN with a password, as REMEDIATOR_POSTGRES_DSNS holds in production."""
        return (f"postgresql://{user}:{PASSWORD}@127.0.0.1:{self.port}/{dbname}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: do not wait for clients
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sleeper:
    """A session running ``SELECT pg_sleep(...)``: the long-running query of a test."""

    def __init__(self, conn: psycopg.AsyncConnection[tuple[object, ...]], seconds: float,
                 tag: str) -> None:
        self.conn, self.tag = conn, tag
        self.pid = conn.info.backend_pid
        self.task = asyncio.create_task(self._run(seconds))

    async def _run(self, seconds: float) -> str:
        try:
            await self.conn.execute(f"SELECT pg_sleep({seconds}) /* {self.tag} */")
            return "finished"
        except psycopg.errors.QueryCanceled:
            return "cancelled"
        except psycopg.OperationalError:
            return "terminated"

    async def outcome(self, timeout: float = 10) -> str:
        return await asyncio.wait_for(asyncio.shield(self.task), timeout)

    @property
    def running(self) -> bool:
        return not self.task.done()


class Sessions:
    """Long-running queries from other connections, each as a given user and app."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self._conns: list[psycopg.AsyncConnection[tuple[object, ...]]] = []
        self.sleepers: list[Sleeper] = []

    async def sleep(self, tag: str, user: str = "app", dbname: str = "shop",
                    app: str = "shop-api", seconds: float = 300, superuser: bool = False) -> Sleeper:
        dsn = (self.server.admin_dsn(dbname) if superuser else self.server.dsn(dbname, user))
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, application_name=app)
        self._conns.append(conn)
        sleeper = Sleeper(conn, seconds, tag)
        self.sleepers.append(sleeper)
        await eventually(lambda: self._active(sleeper.pid), timeout=10,
                         what=f"pid {sleeper.pid} running pg_sleep")
        return sleeper

    async def _active(self, pid: int) -> bool:
        async with await psycopg.AsyncConnection.connect(self.server.admin_dsn()) as conn:
            row = await (await conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
                (pid,))).fetchone()
        return row is not None

    async def close(self) -> None:
        for conn in self._conns:
            conn.cancel()  # a sleeping query would otherwise hold close() for its duration
        for sleeper in self.sleepers:
            await asyncio.wait([sleeper.task], timeout=5)
        for conn in self._conns:
            await conn.close()


@asynccontextmanager
async def sessions(server: PostgresServer) -> AsyncIterator[Sessions]:
    opened = Sessions(server)
    try:
        yield opened
    finally:
        await opened.close()
