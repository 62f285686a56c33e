"""HAProxy's runtime API over its stats socket (unix path) or TCP (``host:port``).

One command per connection (non-interactive mode): HAProxy answers and closes. A
server's state is read from ``show servers state`` (admin state, user weight) and
``show stat`` (``slim``: its maxconn); a changing command answers nothing on success.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass

from activities.support.errors import AuthFailed, Rejected, ResourceNotFound

TIMEOUT_SECONDS = 10.0
# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced maintenance, forced drain.
FMAINT, FDRAIN = 0x01, 0x08


@dataclass(frozen=True)
class ServerState:
    """What the runbook actions change on one server."""

    state: str  # "ready", "drain" or "maint": the forced admin state
    weight: int
    maxconn: int  # 0: no limit


class HaproxyRuntime:
    """Commands to one HAProxy's runtime API; ``address`` is a socket path or host:port."""

    def __init__(self, address: str | None) -> None:
        self.address = address

    async def command(self, line: str) -> str:
        if not self.address:
            raise Rejected("no HAProxy runtime API is configured on this worker "
                           "(REMEDIATOR_HAPROXY_SOCKET)")
        async with asyncio.timeout(TIMEOUT_SECONDS):
            if self.address.startswith("/") or self.address.startswith("unix:"):
                reader, writer = await asyncio.open_unix_connection(self.address.removeprefix("unix:"))
            else:
                host, _, port = self.address.rpartition(":")
                reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(line.encode() + b"\n")
                await writer.drain()
                answer = (await reader.read()).decode(errors="replace")
            finally:
                writer.close()
        _refusal(line, answer)
        return answer

    async def change(self, line: str) -> None:
        """A changing command: anything it answers is a refusal."""
        answer = (await self.command(line)).strip()
        if answer:
            raise Rejected(f"HAProxy refused {line!r}: {answer}")

    async def server(self, backend: str, server: str) -> ServerState:
        state = await self.command(f"show servers state {backend}")
        lines = [ln for ln in state.splitlines() if ln and not ln.startswith("#")]
        fields = next((ln.split() for ln in lines[1:] if ln.split()[3:4] == [server]), None)
        if fields is None:
            raise ResourceNotFound(f"HAProxy has no server {backend}/{server}")
        admin, weight = int(fields[6]), int(fields[7])
        forced = "maint" if admin & FMAINT else "drain" if admin & FDRAIN else "ready"
        return ServerState(state=forced, weight=weight, maxconn=await self._maxconn(backend, server))

    async def _maxconn(self, backend: str, server: str) -> int:
        table = (await self.command(f"show stat {backend} 4 -1")).lstrip("# ")
        for row in csv.DictReader(io.StringIO(table)):
            if row.get("pxname") == backend and row.get("svname") == server:
                return int(row.get("slim") or 0)
        raise ResourceNotFound(f"HAProxy has no server {backend}/{server}")


def _refusal(line: str, answer: str) -> None:
    text = answer.strip()
    if text.startswith("Permission denied"):
        raise AuthFailed(f"HAProxy refused {line!r}: the socket needs 'level admin' ({text})")
    if text.startswith(("No such backend", "No such server", "Can't find backend",
                        "Can't find server")):
        raise ResourceNotFound(f"HAProxy: {text} ({line!r})")
    if text.startswith("Unknown command"):
        raise Rejected(f"HAProxy does not know {line!r}: {text.splitlines()[0]}")
