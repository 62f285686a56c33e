"""The PostgreSQL servers the worker may act on, by configured name.

A runbook names a database by its configuration name (REMEDIATOR_POSTGRES_DSNS maps
names to DSNs); the DSN, which may hold a password, stays here: it is never logged,
never put in a result, and so never reaches a workflow history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from pydantic import SecretStr

from activities.support.errors import AuthFailed, NotAllowed, Rejected

if TYPE_CHECKING:
    import psycopg

# Our own sessions carry this name, so remediator never selects another worker's backend.
APPLICATION_NAME = "remediator"
CONNECT_TIMEOUT_SECONDS = 10


class PostgresUnavailable(ConnectionError):
    """The server did not answer (retryable): its message names the database, not the DSN."""


class PostgresDatabases:
    """Connections to the configured databases, opened per use (autocommit)."""

    def __init__(self, dsns: Mapping[str, SecretStr]) -> None:
        self._dsns = dict(dsns)

    def names(self) -> list[str]:
        return sorted(self._dsns)

    @asynccontextmanager
    async def connect(self, name: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
        if name not in self._dsns:
            raise NotAllowed(f"database {name!r} is not configured on this worker "
                             f"(REMEDIATOR_POSTGRES_DSNS has: {', '.join(self.names()) or 'none'})")
        import psycopg  # on first use: psycopg costs ~10 MB a worker without databases need not hold

        with postgres_errors(name):
            conn = await psycopg.AsyncConnection.connect(
                self._dsns[name].get_secret_value(), autocommit=True,
                application_name=APPLICATION_NAME, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            with postgres_errors(name):
                yield conn
        finally:
            await conn.close()


@contextmanager
def postgres_errors(name: str) -> Iterator[None]:
    """Refusals by the server become ``MitigationRefused``; an unreachable server (or
    one shutting down) stays retryable. Messages name the database, never the DSN."""
    import psycopg  # already loaded by whoever opened the connection

    try:
        yield
    except psycopg.errors.InsufficientPrivilege as exc:
        raise AuthFailed(f"database {name!r}: permission denied: {_first_line(exc)}") from None
    except psycopg.errors.InvalidAuthorizationSpecification as exc:
        raise AuthFailed(f"database {name!r} refused the credentials: {_first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        text = _first_line(exc)
        if "authentication failed" in text or "no password supplied" in text:
            raise AuthFailed(f"database {name!r} refused the credentials") from None
        if "does not exist" in text:
            raise Rejected(f"database {name!r}: {text}") from None
        raise PostgresUnavailable(f"database {name!r} is unreachable: {text}") from None
    except psycopg.ProgrammingError as exc:
        raise Rejected(f"database {name!r} refused the statement: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
