"""The ``remediator`` command line. Each command turns its arguments into a start,
signal, query or HTTP call; the work happens in workflows. One module per command
group; this one puts them together in the order ``--help`` lists them."""

from __future__ import annotations

import os
import sys

import typer

from starters.cli import (
    alerts,
    approvals,
    dev,
    guard,
    incidents,
    postmortem,
    serve,
    verify,
    worker,
)
from starters.cli.runbook import runbook_app

app = typer.Typer(help="Durable incident remediation on Temporal.", no_args_is_help=True)
app.add_typer(runbook_app, name="runbook")
app.add_typer(guard.maintenance_app, name="maintenance")
app.add_typer(guard.guard_app, name="guard")
for command in (
    worker.worker, serve.serve, alerts.alert, incidents.incidents, incidents.status,
    postmortem.postmortem, dev.dev, incidents.declare, incidents.ack, incidents.resolve,
    incidents.assign, approvals.approve, approvals.reject, approvals.sign_decision,
    approvals.pending, verify.verify, guard.pause, guard.resume,
):
    app.command()(command)


def main() -> None:
    """Console entry point. Exits without interpreter teardown, which the Temporal
    client's runtime threads can abort (temporalio/sdk-python#300)."""
    code = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
