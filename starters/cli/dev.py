"""``remediator dev``: the embedded stack, the one command that imports devstack."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def dev(
    state_dir: Annotated[Path, typer.Option(help="SQLite file, logs, postmortems.")] = Path(
        ".remediator"),
    demo: Annotated[bool, typer.Option(help="Send a sample alert once the stack is up.")] = False,
    once: Annotated[bool, typer.Option(help="Stop after the demo instead of staying up.")] = False,
) -> None:
    """Start the embedded stack: Temporal dev server, Redis, a worker, the webhook server."""
    from remediator.devstack.stack import DevStack

    sys.exit(DevStack(state_dir, demo=demo, once=once).run())
