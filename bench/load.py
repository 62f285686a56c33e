"""The load generator of bench/storm.py, and a canned HTTP server to measure it against.

``hammer`` keeps ``in_flight`` keep-alive HTTP/1.1 connections busy, one request at
a time each, with pre-encoded requests and a minimal response reader (status line,
Content-Length): like wrk, it costs a few microseconds a request, so on a shared
2-core machine it leaves the cores to the server it measures (aiohttp's client spends
~0.4 ms of CPU a request, httpx more). ``python -m bench.load PORT`` answers every
request with the same 202 and does nothing else: the client's own ceiling is its
rate against that server.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Load:
    """One burst: wall time, per-request latencies (s), statuses, and answers if kept."""

    seconds: float
    latencies: list[float]
    statuses: Counter[int]
    sent_at: list[float] = field(default_factory=list)  # epoch seconds, request order
    answers: list[bytes] = field(default_factory=list)  # request order, when kept
    errors: int = 0  # requests that got no answer (connection reset, malformed answer)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def unexpected(self, expected: int | None = None) -> int:
        """Answers outside 2xx (or other than ``expected``), and requests with none."""
        def ok(status: int) -> bool:
            return status == expected if expected is not None else 200 <= status < 300
        return sum(n for status, n in self.statuses.items() if not ok(status)) + self.errors


def encode(url: str, body: bytes | None) -> bytes:
    """One HTTP/1.1 request: a POST of ``body`` as JSON, or a GET when it is None."""
    parts = urlsplit(url)
    head = f"{'GET' if body is None else 'POST'} {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + (body or b"")


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open."""
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    status = int(head.split(b" ", 2)[1])
    length = 0
    if (at := head.find(b"content-length:")) >= 0:
        length = int(head[at + 15:].split(b"\r\n", 1)[0])
    elif b"transfer-encoding" in head:
        raise ValueError("chunked answers are not supported by this client")
    return status, await reader.readexactly(length), b"connection: close" not in head


async def hammer(url: str, bodies: Sequence[bytes | None], in_flight: int,
                 keep_answers: bool = False) -> Load:
    """Send one request per body (POST, or GET for None) to ``url``, ``in_flight`` at a time."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    cache: dict[int, bytes] = {}  # a storm repeats one body: encode it once
    requests = [cache.setdefault(id(b), encode(url, b)) for b in bodies]
    n = len(requests)
    latencies, sent_at = [0.0] * n, [0.0] * n
    answers: list[bytes] = [b""] * n if keep_answers else []
    statuses: Counter[int] = Counter()
    errors = 0
    order = itertools.count()

    async def connection() -> None:
        nonlocal errors
        reader = writer = None
        while (i := next(order)) < n:
            sent_at[i], t0 = time.time(), time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(requests[i])
                status, body, keep = await _answer(reader)
                statuses[status] += 1
                if keep_answers:
                    answers[i] = body
            except (OSError, ValueError, asyncio.IncompleteReadError):
                errors, keep = errors + 1, False
            latencies[i] = time.perf_counter() - t0
            if not keep and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(min(in_flight, n))))
    return Load(time.perf_counter() - start, latencies, statuses, sent_at, answers, errors)


class _Canned(asyncio.Protocol):
    """Reads HTTP/1.1 requests (Content-Length bodies) and answers each with one 202."""

    BODY = b'{"incidents":[]}'
    ANSWER = (b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
              b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            if (at := head.find(b"content-length:")) >= 0:
                length = int(head[at + 15:].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(self.ANSWER)


async def canned_server(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Canned, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(canned_server(int(sys.argv[1])))
