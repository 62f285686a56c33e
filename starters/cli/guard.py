"""Safety rails from the command line: maintenance windows (``maintenance add|list|end``),
the pause switch (``pause``, ``resume``) and ``guard status``. The operator names
themselves with ``--as``; with an API token configured, it must be the token's user."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer

from remediator.settings import Settings
from remediator.temporal import connect
from starters.cli.common import JsonOpt, fail
from starters.guard import Guard, GuardRefused, GuardUnavailable
from workflows.guard.models import GuardStatus, MaintenanceRequest, MaintenanceWindow

T = TypeVar("T")
maintenance_app = typer.Typer(help="Maintenance windows: matching incidents run in shadow mode.",
                              no_args_is_help=True)
guard_app = typer.Typer(help="The safety rails shared by every incident.", no_args_is_help=True)

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
AsOpt = Annotated[str | None, typer.Option("--as", help="Who you are (recorded).")]


def run_guard(action: Callable[[Guard], Awaitable[T]]) -> T:
    """Connect and act in one event loop; the guard's refusals and silence end the command."""
    settings = Settings()

    async def go() -> T:
        return await action(Guard(await connect(settings), settings))

    try:
        return asyncio.run(go())
    except GuardRefused as exc:
        fail(f"refused: {exc}")
    except GuardUnavailable as exc:
        fail(str(exc))


def operator(claimed: str | None, doing: str) -> str:
    """The operator's name: ``--as``, which must match the CLI token's user if it has one."""
    settings = Settings()
    token = settings.cli_token(claimed)
    user = settings.user_for_token(token) if token else None
    if claimed is None or not claimed.strip():
        fail(f"say who {doing} with --as USER (nothing was changed)", 2)
    if user is not None and claimed != user:
        fail(f"--as {claimed} does not match the token's user {user} (nothing was changed)", 2)
    return claimed.strip()


def seconds_of(text: str) -> float:
    found = DURATION.match(text.strip())
    if found is None:
        fail(f"bad duration {text!r}: use e.g. 90s, 30m, 2h, 1d", 2)
    return float(found.group(1)) * UNIT_SECONDS[found.group(2)]


def moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"bad time {text!r}: use ISO 8601, e.g. 2030-01-01T02:00:00Z", 2)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def describe(w: MaintenanceWindow, active: bool | None = None) -> str:
    when = f"{w.starts_at:%Y-%m-%d %H:%M}Z–{w.ends_at:%Y-%m-%d %H:%M}Z"
    if w.every:
        when += f" every {'day' if w.every == 'daily' else 'week'}"
        when += f" until {w.until:%Y-%m-%d %H:%M}Z" if w.until else ""
    state = "" if active is None else ("open  " if active else "later ")
    return (f"{w.id}  {state}{' '.join(w.matchers)}  {when}  by {w.created_by}: {w.reason}")


@maintenance_app.command("add")
def maintenance_add(
    match: Annotated[list[str], typer.Option(
        "--match", help="Label matcher, repeatable: k=v, k!=v, k=~regex, k!~regex.")],
    reason: Annotated[str, typer.Option(help="Why; shown on every matching incident.")],
    user: AsOpt = None,
    start: Annotated[str | None, typer.Option(help="ISO time (default now).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO time the window ends.")] = None,
    duration: Annotated[str | None, typer.Option(help="Instead of --end: 90m, 2h, …")] = None,
    every: Annotated[str | None, typer.Option(help="Repeat: daily or weekly.")] = None,
    until: Annotated[str | None, typer.Option(help="Last repetition ends by (ISO).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Open a maintenance window: matching incidents are planned and recorded, nothing changed."""
    who = operator(user, "opens the window")
    fields: dict[str, object] = {
        "matchers": match, "reason": reason, "created_by": who, "starts_at": moment(start),
        "ends_at": moment(end), "every": every, "until": moment(until),
        "duration_seconds": seconds_of(duration) if duration else None}
    if end is None and duration is None:
        fail("say when the window ends: --end TIME or --duration 2h", 2)
    try:
        req = MaintenanceRequest.model_validate(fields)
    except ValueError as exc:
        fail(f"bad window: {exc}", 2)
    window = run_guard(lambda guard: guard.add_window(req))
    typer.echo(window.model_dump_json(indent=2) if json_out else describe(window))


@maintenance_app.command("list")
def maintenance_list(json_out: JsonOpt = False) -> None:
    """Open and upcoming maintenance windows."""
    windows = run_guard(lambda guard: guard.status()).windows
    if json_out:
        typer.echo(json.dumps([w.model_dump(mode="json") for w in windows], indent=2))
        return
    for w in windows:
        typer.echo(describe(w, w.active))
    if not windows:
        typer.echo("no maintenance windows")


@maintenance_app.command("end")
def maintenance_end(window_id: str, user: AsOpt = None) -> None:
    """End a window now (an upcoming one never opens)."""
    who = operator(user, "ends the window")
    window = run_guard(lambda guard: guard.end_window(window_id, who))
    typer.echo(f"{window.id}: ended by {who}")


def pause(
    user: AsOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why; shown on every incident.")] = None,
) -> None:
    """Pause automation: every incident runs in shadow mode until "remediator resume"."""
    who = operator(user, "pauses automation")
    if reason is None or not reason.strip():
        fail("say why with --reason (nothing was changed)", 2)
    answer = run_guard(lambda guard: guard.pause(who, reason))
    typer.echo(answer.detail)


def resume(user: AsOpt = None) -> None:
    """Resume automation after a pause (or a tripped circuit breaker)."""
    who = operator(user, "resumes automation")
    typer.echo(run_guard(lambda guard: guard.resume(who)).detail)


@guard_app.command("status")
def status(json_out: JsonOpt = False) -> None:
    """Locks, cooldowns, blocks, maintenance windows, the pause state and the fleet caps."""
    found = run_guard(lambda guard: guard.status())
    if json_out:
        typer.echo(found.model_dump_json(indent=2))
        return
    for line in status_lines(found):
        typer.echo(line)


def status_lines(s: GuardStatus) -> list[str]:
    p = s.policy
    lines = [paused_line(s) or "automation: live",
             f"in flight: {s.in_flight}/{p.max_in_flight} mutating steps"
             + "".join(f", {scope} {n}/{p.max_in_flight_per_scope}"
                       for scope, n in sorted(s.in_flight_by_scope.items())),
             f"circuit breaker: {s.fleet_failures_in_window}/{p.breaker_failures} failed "
             f"verifications in the last {p.breaker_window_seconds:g} s"]
    lines += ["locks:"] + [f"  {lock.target}  held by {lock.holder.incident_id} since "
                           f"{lock.since:%H:%M:%S}Z" for lock in s.locks]
    lines += ["cooldowns:"] + [f"  {c.action} on {c.target}  by {c.incident_id} until "
                               f"{c.until:%H:%M:%S}Z" for c in s.cooldowns]
    lines += ["blocks:"] + [f"  {b.runbook} on {b.target}  until {b.until:%H:%M:%S}Z: {b.reason}"
                            for b in s.blocks]
    lines += ["maintenance windows:"] + [f"  {describe(w, w.active)}" for w in s.windows]
    return lines


def paused_line(s: GuardStatus) -> str | None:
    if s.paused is None:
        return None
    return (f"automation paused by {s.paused.by} since {s.paused.since:%Y-%m-%d %H:%M:%S}Z: "
            f"{s.paused.reason}")
