"""The ``remediator`` command line. Each command turns its arguments into a start,
signal, query or HTTP call; the work happens in workflows."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import click
import httpx
import typer
import yaml
from pydantic import ValidationError

from remediator.logging import configure_logging
from remediator.settings import Settings
from starters import pagerduty
from starters.alert_formats import guess_format
from starters.cli_common import JsonOpt, fail, run_with
from starters.cli_declare import declare
from starters.cli_runbook import runbook_app
from starters.cli_steer import COMMANDS
from starters.incidents import IncidentNotFound
from workflows.comms_models import PostmortemEdit

app = typer.Typer(help="Durable incident remediation on Temporal.", no_args_is_help=True)
app.add_typer(runbook_app, name="runbook")


@app.command()
def worker() -> None:
    """Run a worker against TEMPORAL_ADDRESS and REDIS_URL."""
    from workers.main import run_worker

    configure_logging()
    asyncio.run(run_worker(Settings()))


@app.command()
def serve() -> None:
    """Run the alert webhook server on REMEDIATOR_HTTP_ADDR (default 127.0.0.1:8080)."""
    import uvicorn

    from starters.http import create_app

    settings = Settings()
    if not settings.http_is_loopback and settings.webhook_token is None:
        fail("refusing to listen beyond loopback without REMEDIATOR_WEBHOOK_TOKEN", 2)
    if settings.reads_guarded and not settings.has_api_tokens:
        # Reads would be refused to everyone: say so now rather than serve 401s.
        where = ("beyond loopback" if not settings.http_is_loopback
                 else "with REMEDIATOR_READS_NEED_TOKEN")
        fail(f"refusing to listen {where} without REMEDIATOR_API_TOKENS: reading "
             "incidents needs an API token", 2)
    configure_logging()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level="warning")


AlertFormat = Literal["alertmanager", "grafana", "pagerduty", "generic"]


@app.command()
def alert(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON payload.")],
    url: Annotated[str | None, typer.Option(help="Webhook base URL.")] = None,
    format_: Annotated[AlertFormat | None, typer.Option(
        "--format", help="Webhook to post to (default: guessed from the payload's shape).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="An incident this opens plans its steps and changes nothing.")] = False,
    verbatim: Annotated[bool, typer.Option(
        "--verbatim", help="Send a PagerDuty payload as it is (by default it is sent as a "
                           "new delivery: a fresh event id and occurred_at).")] = False,
) -> None:
    """Send an alert payload (Alertmanager v4, Grafana, PagerDuty V3 or generic JSON)."""
    settings = Settings()
    body = file.read_bytes()
    kind = format_ or guess_format(body)
    if kind == "pagerduty" and not verbatim:
        # The server refuses stale and replayed deliveries; a file is a template.
        body = pagerduty.as_new_delivery(body)
    headers = {"content-type": "application/json"}
    if settings.webhook_token is not None:
        headers["authorization"] = f"Bearer {settings.webhook_token.get_secret_value()}"
    if kind == "pagerduty" and (secrets := settings.pagerduty_secret_list()):
        headers["x-pagerduty-signature"] = pagerduty.signature(body, secrets[0])
    base = url or f"http://{settings.http_addr}"
    resp = httpx.post(f"{base}/v1/alerts/{kind}", content=body, headers=headers, timeout=30,
                      params={"dry_run": "true"} if dry_run else None)
    typer.echo(resp.text)
    if not resp.is_success:
        raise typer.Exit(1)


@app.command()
def incidents(
    json_out: JsonOpt = False,
    all_: Annotated[bool, typer.Option("--all", help="Include closed incidents.")] = False,
) -> None:
    """List open incidents (from Temporal visibility)."""
    found = run_with(lambda incidents: incidents.list(open_only=not all_))
    if json_out:
        typer.echo(json.dumps([s.__dict__ for s in found], indent=2))
        return
    for s in found:
        typer.echo(f"{s.id}  {s.severity or '--':3} {s.status:10} {s.phase:10} {s.service}")
    if not found:
        typer.echo("no open incidents")


@app.command()
def status(incident_id: str, json_out: JsonOpt = False) -> None:
    """Phase, severity and timeline of one incident."""
    try:
        view = run_with(lambda incidents: incidents.view(incident_id))
    except IncidentNotFound:
        fail(f"no incident {incident_id}")
    if json_out:
        typer.echo(view.model_dump_json(indent=2))
        return
    typer.echo(f"{view.id}: {view.title}\n  status {view.status}, phase {view.phase}, "
               f"severity {view.severity}, runbook {view.runbook}"
               + (" (dry run: nothing is changed)" if view.dry_run else ""))
    for e in view.timeline:
        typer.echo(f"  {e.at:%Y-%m-%d %H:%M:%S}Z  {e.phase or '':10} {e.kind:24} {e.detail}")


@app.command()
def postmortem(
    incident_id: str,
    edit: Annotated[Path | None, typer.Option(
        "--edit", help="YAML/JSON file with root_cause, five_whys, impact, went_well, went_poorly, "
        "action_items, close_action_items, review_done; '-' opens $EDITOR.",
        allow_dash=True)] = None,
    user: Annotated[str | None, typer.Option("--as", help="Who edits (recorded).")] = None,
) -> None:
    """Print the incident's postmortem document, or edit it (``--edit``)."""
    try:
        if edit is not None:
            if user is None:
                fail("--edit needs --as USER", 2)
            fields = _read_edit(edit)
            change = PostmortemEdit(by=user, **fields)
            run_with(lambda incidents: incidents.edit_postmortem(incident_id, change))
            typer.echo(f"{incident_id}: postmortem edit sent")
            return
        typer.echo(run_with(lambda incidents: incidents.postmortem(incident_id)))
    except IncidentNotFound:
        fail(f"no postmortem for {incident_id} yet")
    except ValidationError as exc:
        fail(f"invalid edit: {exc}", 2)


def _read_edit(path: Path) -> dict[str, Any]:
    if str(path) == "-":
        template = "root_cause: \nfive_whys: []\naction_items: []\nreview_done: false\n"
        text = click.edit(template, extension=".yaml") or ""
    else:
        text = path.read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise typer.BadParameter("the edit file must be a mapping")
    return data


@app.command()
def dev(
    state_dir: Annotated[Path, typer.Option(help="SQLite file, logs, postmortems.")] = Path(
        ".remediator"),
    demo: Annotated[bool, typer.Option(help="Send a sample alert once the stack is up.")] = False,
    once: Annotated[bool, typer.Option(help="Stop after the demo instead of staying up.")] = False,
) -> None:
    """Start the embedded stack: Temporal dev server, Redis, a worker, the webhook server."""
    from remediator.devstack.stack import DevStack

    sys.exit(DevStack(state_dir, demo=demo, once=once).run())


app.command()(declare)
for command in COMMANDS:  # after this module's own, for the order of --help
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


if __name__ == "__main__":
    main()
