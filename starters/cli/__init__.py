"""The ``remediator`` command line. Each command turns its arguments into a start,
signal, query or HTTP call; the work happens in workflows. One module per command
group; this one puts them together in the order ``--help`` lists them."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from remediator.settings import Settings
from starters.cli import (
    alerts,
    approvals,
    dev,
    guard,
    incidents,
    postmortem,
    report,
    serve,
    verify,
    worker,
)
from starters.cli.failures import UNREACHABLE, explain
from starters.cli.runbook import runbook_app

# Locals stay out of tracebacks: they may hold API tokens.
app = typer.Typer(help="Durable incident remediation on Temporal.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
app.add_typer(runbook_app, name="runbook")
app.add_typer(guard.maintenance_app, name="maintenance")
app.add_typer(guard.guard_app, name="guard")
for command in (
    worker.worker, serve.serve, alerts.alert, incidents.incidents, incidents.status,
    postmortem.postmortem, dev.dev, incidents.declare, incidents.ack, incidents.resolve,
    incidents.assign, incidents.severity, approvals.approve, approvals.reject, approvals.sign_decision,
    approvals.pending, verify.verify, guard.pause, guard.resume, report.report,
):
    app.command()(command)


def _plain_flags(command: Any) -> Any:
    """A flag takes no value: its help row shows no ``<bool>`` type (typer's default).
    Duck-typed: typer builds its commands on its own copy of click."""
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    made_help = command.get_help_option

    def help_option(ctx: Any) -> Any:  # --help is made per invocation
        option = made_help(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub)
    return command


def main() -> None:
    """Console entry point. Exits without interpreter teardown, which the Temporal
    client's runtime threads can abort (temporalio/sdk-python#300). A part of the stack
    that cannot be reached is one line on stderr (exit 3), not a traceback."""
    code = 0
    try:
        _plain_flags(typer.main.get_command(app))(prog_name="remediator")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        line = explain(exc, Settings())
        if line is None:
            raise
        typer.echo(f"remediator: {line}", err=True)
        code = UNREACHABLE
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
