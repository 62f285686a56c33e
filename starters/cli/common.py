"""What the CLI's commands share: one connection per command, common options."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn, TypeVar

import typer

from remediator.settings import Settings
from remediator.temporal import connect
from starters.incidents import Incidents

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def run_with(action: Callable[[Incidents], Awaitable[T]]) -> T:
    """Connect and act in one event loop (a Temporal client belongs to the loop that made it)."""
    settings = Settings()

    async def go() -> T:
        return await action(Incidents.from_settings(await connect(settings), settings))

    return asyncio.run(go())


StepOpt = Annotated[str, typer.Option("--step", help="The waiting step's id.")]
AsOpt = Annotated[str, typer.Option("--as", help="Who decides (must be on the allow-list).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why; goes into the timeline.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Say why on stderr and exit with ``code`` (1: refused or not found, 2: bad usage)."""
    typer.echo(message, err=True)
    raise typer.Exit(code)
