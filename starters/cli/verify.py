"""``remediator verify ID``: move an incident's verify window (extend it, end it now)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from remediator.settings import Settings
from remediator.temporal import connect
from starters.cli.common import JsonOpt, ReasonOpt, fail
from workflows.verify import VerifyWorkflow, WindowChange, WindowState


def verify(
    incident_id: str,
    user: Annotated[str, typer.Option("--as", help="Who changes the window (recorded).")],
    extend: Annotated[float | None, typer.Option(help="Seconds to add to the window.")] = None,
    end_now: Annotated[bool, typer.Option("--end-now",
                                          help="End the window now; judge what was seen.")] = False,
    reason: ReasonOpt = "",
    json_out: JsonOpt = False,
) -> None:
    """Extend an incident's verify window (--extend SECONDS) or end it now (--end-now)."""
    try:
        change = WindowChange(by=user, extend_seconds=extend, end_now=end_now, reason=reason)
    except ValidationError as exc:
        fail("invalid: " + "; ".join(e["msg"] for e in exc.errors()), 2)

    async def go() -> WindowState:
        client = await connect(Settings())
        handle = client.get_workflow_handle(f"{incident_id}/verify")
        return await handle.execute_update(VerifyWorkflow.adjust_window, change)

    try:
        state = asyncio.run(go())
    except WorkflowUpdateFailedError as exc:
        fail(f"refused: {getattr(exc.cause, 'message', None) or exc.cause}")
    except RPCError as exc:
        fail(f"no verify window open for {incident_id}: {exc.message}")
    if json_out:
        typer.echo(state.model_dump_json(indent=2))
        return
    typer.echo(f"{incident_id}: verify window {state.started_at:%H:%M:%S}–{state.ends_at:%H:%M:%S} "
               f"UTC, {state.healthy_rounds}/{state.rounds} healthy round(s) so far")
