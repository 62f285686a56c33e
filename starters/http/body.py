"""Request bodies read with a bound: a sender cannot make the server hold more than
the limit in memory."""

from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    """The body is (or claims to be) larger than the limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
