"""Finding the backends a step may signal, and signalling one only while it still runs
the query it was chosen for.

Never selected: superuser backends (their role is a superuser, or unknown), anything
but a client backend (walsenders, autovacuum, background workers), our own session and
every other remediator session (application_name ``remediator``), idle sessions.
A backend is named by (pid, backend_start, query_start), so a pid reused by a new
session, or a session that moved on to its next query, is never signalled in its place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from activities.postgres.databases import APPLICATION_NAME

if TYPE_CHECKING:  # imported when a connection opens (databases.py): ~10 MB a worker need not hold
    import psycopg

QUERY_CHARS = 200
Signal = Literal["cancel", "terminate"]
_FUNCTION = {"cancel": "pg_cancel_backend", "terminate": "pg_terminate_backend"}

_SELECT = f"""
SELECT a.pid, a.usename, a.datname, a.application_name,
       extract(epoch FROM clock_timestamp() - a.query_start)::float8 AS seconds,
       left(a.query, {QUERY_CHARS}) AS query, a.backend_start, a.query_start
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid()
  AND a.state = 'active'
  AND coalesce(a.application_name, '') <> '{APPLICATION_NAME}'
  AND r.rolsuper IS FALSE
  AND a.query_start < clock_timestamp() - make_interval(secs => %(min_seconds)s)
  AND a.datname = coalesce(%(datname)s, current_database())
  AND (%(usename)s::text IS NULL OR a.usename = %(usename)s)
  AND (%(application_name)s::text IS NULL OR a.application_name = %(application_name)s)
  AND (%(pattern)s::text IS NULL OR a.query ~ %(pattern)s)
ORDER BY a.query_start, a.pid
"""

# The same exclusions again at the moment of the signal: the row must still be the
# backend (and the query) that was chosen.
_STILL_RUNNING = """
SELECT a.pid FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid = %(pid)s AND a.backend_start = %(backend_start)s
  AND a.query_start = %(query_start)s AND a.state = 'active'
  AND a.backend_type = 'client backend' AND r.rolsuper IS FALSE
  AND a.pid <> pg_backend_pid()
"""


@dataclass(frozen=True)
class Backend:
    """One backend running a long query, as selected (JSON-friendly for markers)."""

    pid: int
    usename: str
    datname: str
    application_name: str
    seconds: float
    query: str
    backend_start: str
    query_start: str

    def describe(self) -> str:
        app = f" ({self.application_name})" if self.application_name else ""
        return (f"pid {self.pid} user {self.usename}{app} running {self.seconds:.1f}s: "
                f"{_one_line(self.query)!r}")

    def as_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Backend:
        return cls(**record)


@dataclass(frozen=True)
class Filters:
    min_seconds: float
    datname: str | None
    usename: str | None
    application_name: str | None
    pattern: str | None


Conn: TypeAlias = "psycopg.AsyncConnection[tuple[Any, ...]]"


async def long_running(conn: Conn, filters: Filters) -> list[Backend]:
    """Every backend the filters select, oldest query first."""
    async with conn.cursor() as cur:
        await cur.execute(_SELECT, asdict(filters))
        rows = await cur.fetchall()
    return [Backend(pid=int(r[0]), usename=str(r[1] or ""), datname=str(r[2] or ""),
                    application_name=str(r[3] or ""), seconds=float(r[4]), query=str(r[5] or ""),
                    backend_start=_iso(r[6]), query_start=_iso(r[7])) for r in rows]


async def still_running(conn: Conn, backend: Backend) -> bool:
    async with conn.cursor() as cur:
        await cur.execute(_STILL_RUNNING, _identity(backend))
        return await cur.fetchone() is not None


async def signal(conn: Conn, backend: Backend, how: Signal) -> bool:
    """Cancel or terminate ``backend`` if it still runs the chosen query; whether it was
    signalled (False: it had finished, or the session is gone)."""
    sql = f"SELECT {_FUNCTION[how]}(pid) FROM ({_STILL_RUNNING}) chosen"
    async with conn.cursor() as cur:
        await cur.execute(sql, _identity(backend))
        row = await cur.fetchone()
    return row is not None and bool(row[0])


def _identity(backend: Backend) -> dict[str, Any]:
    return {"pid": backend.pid, "backend_start": datetime.fromisoformat(backend.backend_start),
            "query_start": datetime.fromisoformat(backend.query_start)}


def _iso(value: object) -> str:
    assert isinstance(value, datetime)
    return value.isoformat()


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) < QUERY_CHARS else flat[:QUERY_CHARS - 1] + "…"
