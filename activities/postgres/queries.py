"""Cancel or terminate long-running queries, once per (incident, step); never undoable.

The step's backends are chosen once and recorded (in the remediator's Redis) before any
is signalled: a retry after a crash signals only the recorded backends still running
their chosen query, never a query that started since, and reports every one of them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis
import structlog
from pydantic import Field
from temporalio import activity

from activities.postgres.backends import Backend, Filters, Signal, long_running, signal, still_running
from activities.postgres.databases import PostgresDatabases
from activities.support.allowlist import require_allowed
from activities.support.crash_points import CrashPoints
from activities.support.errors import refusals_non_retryable, validated
from activities.support.markers import Markers
from activities.support.params import Params
from remediator.models.mitigation import MitigationRequest, MitigationResult, RiskLevel

log = structlog.get_logger()
NO_UNDO = "a cancelled or terminated query cannot be undone"
ALLOWLIST = "REMEDIATOR_POSTGRES_ALLOWLIST"


class PgQueriesParams(Params):
    """Backends of configured database ``database`` (a name in REMEDIATOR_POSTGRES_DSNS)
    running one query for longer than ``min_duration_seconds``, filtered by ``datname``
    (default: the DSN's own database), ``user``, ``application_name`` and ``query_pattern``
    (a PostgreSQL regular expression), oldest first, at most ``max_count`` of them.
    ``wait_seconds``: how long to wait for the signalled queries to stop."""

    database: str = Field(min_length=1, max_length=100)
    min_duration_seconds: float = Field(gt=0)
    datname: str | None = Field(None, min_length=1, max_length=63)
    user: str | None = Field(None, min_length=1, max_length=63)
    application_name: str | None = Field(None, max_length=63)
    query_pattern: str | None = Field(None, min_length=1, max_length=500)
    max_count: int = Field(10, ge=1, le=500)
    wait_seconds: float = Field(5.0, ge=0, le=300)

    def target(self) -> str:
        return f"postgres:{self.database}"

    def filters(self) -> Filters:
        return Filters(min_seconds=self.min_duration_seconds, datname=self.datname,
                       usename=self.user, application_name=self.application_name,
                       pattern=self.query_pattern)


class TerminateQueriesParams(PgQueriesParams):
    """Terminate (end the whole session of) the backends a cancel would select; same params."""

    def minimum_risk(self) -> RiskLevel:
        return RiskLevel.DANGEROUS


class PostgresActivities:
    """``cancel_queries`` and ``terminate_queries`` on the configured databases."""

    def __init__(self, databases: PostgresDatabases, state: aioredis.Redis, allowlist: list[str],
                 crash: CrashPoints) -> None:
        self._databases = databases
        self._markers = Markers(state, "pg-queries")
        self._allowlist = allowlist
        self._crash = crash

    @activity.defn
    async def cancel_queries(self, req: MitigationRequest) -> MitigationResult:
        """pg_cancel_backend on the selected backends (the session stays), once per step.

        Dry-run lists pid, user, duration and query of each and signals nothing. Refused:
        a database not configured or off REMEDIATOR_POSTGRES_ALLOWLIST ("name/datname").
        """
        return await self._act(req, validated(PgQueriesParams, req.params), "cancel",
                               "postgres.cancel_queries")

    @activity.defn
    async def terminate_queries(self, req: MitigationRequest) -> MitigationResult:
        """pg_terminate_backend on the selected backends (their sessions end), once per step."""
        return await self._act(req, validated(TerminateQueriesParams, req.params), "terminate",
                               "postgres.terminate_queries")

    async def _act(self, req: MitigationRequest, params: PgQueriesParams, how: Signal,
                   action: str) -> MitigationResult:
        with refusals_non_retryable():
            async with self._databases.connect(params.database) as conn:
                datname = params.datname or await _current_database(conn)
                where = f"{params.database}/{datname}"
                require_allowed("database", where, self._allowlist, ALLOWLIST)
                record = None if req.dry_run else await self._markers.get(req.key)
                if record is None:
                    found = await long_running(conn, params.filters())
                    record = {"where": where, "matched": len(found), "done": False,
                              "chosen": [b.as_record() for b in found[:params.max_count]],
                              "signalled": [], "gone": []}
                    if req.dry_run:
                        return _plan(req, action, how, params, record)
                    await self._markers.put(req.key, record)
                    self._crash.reach(f"postgres.{how}_queries.chosen")
                if not record["done"]:
                    await self._signal_chosen(conn, record, how, req.key)
                    self._crash.reach(f"postgres.{how}_queries.after_signal")
                    record["stopped"] = await _wait_stopped(conn, record, params.wait_seconds)
                    record["done"] = True
                    await self._markers.put(req.key, record)
        log.info("mitigation.applied", action=action, database=record["where"],
                 signalled=[b["pid"] for b in record["signalled"]],
                 gone=[b["pid"] for b in record["gone"]])
        return MitigationResult(step_id=req.step_id, action=action, applied=True,
                                detail=_report(how, params, record), undo=None)

    async def _signal_chosen(self, conn: Any, record: dict[str, Any], how: Signal,
                             key: str) -> None:
        """Signal each chosen backend not yet handled, recording each as it goes."""
        handled = {b["pid"] for b in record["signalled"] + record["gone"]}
        for chosen in record["chosen"]:
            if chosen["pid"] in handled:
                continue
            backend = Backend.from_record(chosen)
            landed = await signal(conn, backend, how)
            record["signalled" if landed else "gone"].append(chosen)
            await self._markers.put(key, record)


async def _current_database(conn: Any) -> str:
    async with conn.cursor() as cur:
        await cur.execute("SELECT current_database()")
        row = await cur.fetchone()
    return str(row[0])


async def _wait_stopped(conn: Any, record: dict[str, Any], wait_seconds: float) -> list[int]:
    """The signalled pids whose query stopped within ``wait_seconds`` (the worker's
    heartbeat interceptor keeps the step alive meanwhile)."""
    deadline = time.monotonic() + wait_seconds
    pending = [Backend.from_record(b) for b in record["signalled"]]
    stopped: list[int] = []
    while True:
        for backend in list(pending):
            if not await still_running(conn, backend):
                pending.remove(backend)
                stopped.append(backend.pid)
        if not pending or time.monotonic() >= deadline:
            return stopped
        await asyncio.sleep(0.2)


def _plan(req: MitigationRequest, action: str, how: Signal, params: PgQueriesParams,
          record: dict[str, Any]) -> MitigationResult:
    chosen = [Backend.from_record(b) for b in record["chosen"]]
    capped = (f" (of {record['matched']} matching; max_count {params.max_count})"
              if record["matched"] > len(chosen) else "")
    lines = "; ".join(b.describe() for b in chosen) or "none running now"
    detail = (f"would {how} {len(chosen)} backend(s) on {record['where']} running longer than "
              f"{params.min_duration_seconds:g}s{_filters(params)}{capped}: {lines}; {NO_UNDO}")
    return MitigationResult(step_id=req.step_id, action=action, applied=False, dry_run=True,
                            detail=detail)


def _filters(params: PgQueriesParams) -> str:
    given = [f"{k} {v!r}" for k, v in (("user", params.user),
                                       ("application_name", params.application_name),
                                       ("query ~", params.query_pattern)) if v is not None]
    return f" ({', '.join(given)})" if given else ""


def _report(how: Signal, params: PgQueriesParams, record: dict[str, Any]) -> str:
    verb = {"cancel": "cancelled", "terminate": "terminated"}[how]
    signalled = [Backend.from_record(b) for b in record["signalled"]]
    stopped = set(record.get("stopped", []))
    lines = "; ".join(b.describe() + ("" if b.pid in stopped else " (still running)")
                      for b in signalled) or "none"
    capped = (f" (of {record['matched']} matching; max_count {params.max_count})"
              if record["matched"] > len(record["chosen"]) else "")
    gone = f"; {len(record['gone'])} had already finished" if record["gone"] else ""
    return (f"{verb} {len(signalled)} backend(s) on {record['where']}: {lines}{gone} (running "
            f"longer than {params.min_duration_seconds:g}s{_filters(params)}{capped}); {NO_UNDO}")
