"""Request bodies read with a bound: a sender cannot make the server hold more than
the limit in memory."""

from __future__ import annotations

from fastapi import Request
from pydantic import AfterValidator


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


def utf16_limit(max_units: int) -> AfterValidator:
    """At most ``max_units`` UTF-16 code units: what the schema's ``maxLength`` allows
    however a client counts (a JSON ``\\ud83d\\ude00`` pair is one character here and two
    to a client counting code units, so the stricter count wins)."""

    def fits(value: str) -> str:
        if len(value.encode("utf-16-le", "surrogatepass")) // 2 > max_units:
            raise ValueError(f"at most {max_units} characters (UTF-16 code units)")
        return value

    return AfterValidator(fits)
