"""PostgreSQL evidence, when the runbook names a database: seed 02's two queries, read
only — non-idle sessions by query start, and locks not granted (who waits for what)."""

from __future__ import annotations

from typing import Any

from activities.evidence.found import Found
from activities.evidence.request import EvidenceRequest, Scope
from activities.postgres.databases import PostgresDatabases

ROWS = 20

# Seed 02 "Check slow queries" (our own sessions left out).
ACTIVITY = f"""
SELECT pid, usename, datname, state, wait_event_type, wait_event,
       extract(epoch FROM clock_timestamp() - query_start)::float8 AS seconds,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY query_start NULLS LAST
LIMIT {ROWS}
"""

# Seed 02 "Check locks": SELECT * FROM pg_locks WHERE NOT granted, with who blocks.
LOCKS = f"""
SELECT l.pid, l.locktype, l.mode, l.relation::regclass::text AS relation,
       pg_blocking_pids(l.pid) AS blocked_by
FROM pg_locks l
WHERE NOT l.granted
LIMIT {ROWS}
"""


async def _rows(conn: Any, sql: str) -> list[dict[str, Any]]:
    cur = await conn.execute(sql)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


class PostgresEvidence:
    """The ``postgres`` source."""

    name = "postgres"

    def __init__(self, databases: PostgresDatabases) -> None:
        self._databases = databases

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        if not scope.databases:
            return Found("no database in the runbook")
        found, parts = Found(""), []
        for name in sorted(scope.databases):
            async with self._databases.connect(name) as conn:
                await conn.execute("SET default_transaction_read_only = on")
                sessions = await _rows(conn, ACTIVITY)
                waiting = await _rows(conn, LOCKS)
            found.detail.setdefault("postgres", {})[name] = {"sessions": sessions,
                                                              "ungranted_locks": waiting}
            oldest = (f", oldest {sessions[0]['seconds']:.0f}s: {str(sessions[0]['query'])[:80]!r}"
                      if sessions and sessions[0]["seconds"] is not None else "")
            blockers = sorted({b for w in waiting for b in w["blocked_by"] or []})
            locks = (f"{len(waiting)} lock(s) not granted"
                     + (f", blocked by pid {', '.join(map(str, blockers))}" if blockers else ""))
            parts.append(f"{name}: {len(sessions)} non-idle session(s){oldest}; {locks}")
        found.line = "; ".join(parts)
        return found
