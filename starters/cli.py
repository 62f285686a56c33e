"""The ``remediator`` command line. Each command turns its arguments into a start,
signal, query or HTTP call; the work happens in workflows."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import click
import httpx
import typer
import yaml
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from remediator.logging import configure_logging
from remediator.runbooks import InvalidRunbook, load_runbook_file
from remediator.settings import Settings
from remediator.temporal import connect
from starters import pagerduty
from starters.incidents import DecisionRefused, IncidentNotFound, Incidents
from workflows.approval_models import ApprovalAnswer, ApprovalRequest
from workflows.comms_models import Acknowledgement, PostmortemEdit, Role, RoleAssignment
from workflows.verify import VerifyWorkflow
from workflows.verify_models import Resolution, WindowChange, WindowState

app = typer.Typer(help="Durable incident remediation on Temporal.", no_args_is_help=True)
runbook_app = typer.Typer(help="Work with runbook files.", no_args_is_help=True)
app.add_typer(runbook_app, name="runbook")

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _run(action: Callable[[Incidents], Awaitable[T]]) -> T:
    """Connect and act in one event loop (a Temporal client belongs to the loop that made it)."""
    settings = Settings()

    async def go() -> T:
        return await action(Incidents(await connect(settings), settings.task_queue))

    return asyncio.run(go())


@app.command()
def worker() -> None:
    """Run a worker against TEMPORAL_ADDRESS and REDIS_URL."""
    from workers.main import run_worker

    configure_logging()
    asyncio.run(run_worker(Settings()))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve() -> None:
    """Run the alert webhook server on REMEDIATOR_HTTP_ADDR (default 127.0.0.1:8080)."""
    import uvicorn

    from starters.http import create_app

    settings = Settings()
    if not _is_loopback(settings.http_host) and settings.webhook_token is None:
        typer.echo("refusing to listen beyond loopback without REMEDIATOR_WEBHOOK_TOKEN", err=True)
        raise typer.Exit(2)
    configure_logging()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level="warning")


def guess_format(body: bytes) -> str:
    """Which webhook a payload is for, from its shape."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "generic"
    if not isinstance(payload, dict):
        return "generic"
    if "groupKey" in payload:
        return "grafana" if payload.get("version") == "1" else "alertmanager"
    return "pagerduty" if "event" in payload else "generic"


AlertFormat = Literal["alertmanager", "grafana", "pagerduty", "generic"]


@app.command()
def alert(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON payload.")],
    url: Annotated[str | None, typer.Option(help="Webhook base URL.")] = None,
    format_: Annotated[AlertFormat | None, typer.Option(
        "--format", help="Webhook to post to (default: guessed from the payload's shape).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="An incident this opens plans its steps and changes nothing.")] = False,
) -> None:
    """Send an alert payload (Alertmanager v4, Grafana, PagerDuty V3 or generic JSON)."""
    settings = Settings()
    body = file.read_bytes()
    kind = format_ or guess_format(body)
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
    found = _run(lambda incidents: incidents.list(open_only=not all_))
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
        view = _run(lambda incidents: incidents.view(incident_id))
    except IncidentNotFound:
        typer.echo(f"no incident {incident_id}", err=True)
        raise typer.Exit(1) from None
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
                typer.echo("--edit needs --as USER", err=True)
                raise typer.Exit(2)
            fields = _read_edit(edit)
            change = PostmortemEdit(by=user, **fields)
            _run(lambda incidents: incidents.edit_postmortem(incident_id, change))
            typer.echo(f"{incident_id}: postmortem edit sent")
            return
        typer.echo(_run(lambda incidents: incidents.postmortem(incident_id)))
    except IncidentNotFound:
        typer.echo(f"no postmortem for {incident_id} yet", err=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        typer.echo(f"invalid edit: {exc}", err=True)
        raise typer.Exit(2) from None


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
def ack(incident_id: str, user: Annotated[str, typer.Option("--as", help="Who acknowledges.")]) -> None:
    """Acknowledge an incident's page: stops paging the on-call engineer again."""
    _run(lambda incidents: incidents.acknowledge(incident_id, Acknowledgement(user=user)))
    typer.echo(f"{incident_id}: acknowledged by {user}")


@app.command()
def resolve(
    incident_id: str, user: Annotated[str, typer.Option("--as", help="Who declares it resolved.")],
    reason: Annotated[str, typer.Option(help="Why; goes into the timeline.")] = "",
) -> None:
    """Declare a handed-over incident resolved (it then writes its postmortem)."""
    _run(lambda incidents: incidents.resolve(incident_id, Resolution(by=user, reason=reason)))
    typer.echo(f"{incident_id}: resolution by {user} sent")


@app.command()
def assign(
    incident_id: str,
    role: Annotated[Role, typer.Option(help="The role to (re)assign.")],
    user: Annotated[str, typer.Option(help="Who takes the role.")],
    by: Annotated[str, typer.Option("--as", help="Who assigns it.")] = "",
) -> None:
    """Assign or reassign an incident role (IC, technical lead, communications lead, scribe)."""
    assignment = RoleAssignment(role=role, user=user, by=by)
    _run(lambda incidents: incidents.assign(incident_id, assignment))
    typer.echo(f"{incident_id}: {role} is {user}")


def _decide(incident_id: str, step: str, user: str, reason: str, plan_hash: str | None,
            approve: bool) -> None:
    async def go(incidents: Incidents) -> ApprovalAnswer:
        digest = plan_hash
        if digest is None and approve:
            waiting = {p.step_id: p for p in await incidents.pending(incident_id)}
            if step not in waiting:
                raise DecisionRefused(f"step {step!r} is not waiting for approval")
            typer.echo(f"plan: {waiting[step].plan}\nplan hash: {waiting[step].plan_hash}")
            digest = waiting[step].plan_hash
        return await incidents.decide(incident_id, ApprovalRequest(
            step=step, approver=user, plan_hash=digest, reason=reason, approve=approve))

    try:
        answer = _run(go)
    except IncidentNotFound:
        typer.echo(f"no incident {incident_id}", err=True)
        raise typer.Exit(1) from None
    except DecisionRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{answer.step}: {answer.detail} ({len(answer.approvals)}/{answer.required})")


StepOpt = Annotated[str, typer.Option("--step", help="The waiting step's id.")]
AsOpt = Annotated[str, typer.Option("--as", help="Who decides (must be on the allow-list).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why; goes into the timeline.")]


@app.command()
def approve(
    incident_id: str, step: StepOpt, user: AsOpt, reason: ReasonOpt = "",
    plan_hash: Annotated[str | None, typer.Option(help="Pin the plan you reviewed.")] = None,
) -> None:
    """Approve a risky step waiting in an incident (answers at once: accepted or why not)."""
    _decide(incident_id, step, user, reason, plan_hash, approve=True)


@app.command()
def reject(incident_id: str, step: StepOpt, user: AsOpt, reason: ReasonOpt = "") -> None:
    """Reject a waiting step: it is skipped and the rejection recorded."""
    _decide(incident_id, step, user, reason, None, approve=False)


@app.command()
def pending(json_out: JsonOpt = False) -> None:
    """All steps waiting for approval, across open incidents."""
    found = _run(lambda incidents: incidents.pending_everywhere())
    if json_out:
        typer.echo(json.dumps([{"incident": i, **p.model_dump(mode="json")} for i, p in found],
                              indent=2))
        return
    for incident_id, p in found:
        typer.echo(f"{incident_id}  {p.step_id}  {p.risk}  {len(p.approvals)}/{p.required}  "
                   f"hash {p.plan_hash}  due {p.deadline:%H:%M:%S}Z  {p.plan}")
    if not found:
        typer.echo("nothing waits for approval")


@app.command()
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
        typer.echo("invalid: " + "; ".join(e["msg"] for e in exc.errors()), err=True)
        raise typer.Exit(2) from None

    async def go() -> WindowState:
        client = await connect(Settings())
        handle = client.get_workflow_handle(f"{incident_id}/verify")
        return await handle.execute_update(VerifyWorkflow.adjust_window, change)

    try:
        state = asyncio.run(go())
    except WorkflowUpdateFailedError as exc:
        typer.echo(f"refused: {getattr(exc.cause, 'message', None) or exc.cause}", err=True)
        raise typer.Exit(1) from None
    except RPCError as exc:
        typer.echo(f"no verify window open for {incident_id}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if json_out:
        typer.echo(state.model_dump_json(indent=2))
        return
    typer.echo(f"{incident_id}: verify window {state.started_at:%H:%M:%S}–{state.ends_at:%H:%M:%S} "
               f"UTC, {state.healthy_rounds}/{state.rounds} healthy round(s) so far")


@runbook_app.command("validate")
def runbook_validate(files: Annotated[list[Path], typer.Argument(exists=True)]) -> None:
    """Validate runbook files; print every error with file, line and field."""
    failed = False
    for file in files:
        try:
            rb = load_runbook_file(file)
        except InvalidRunbook as exc:
            failed = True
            for err in exc.errors:
                typer.echo(str(err), err=True)
            continue
        typer.echo(f"{file}: ok ({rb.name}: {len(rb.steps)} step(s))")
    if failed:
        raise typer.Exit(1)


@app.command()
def dev(
    state_dir: Annotated[Path, typer.Option(help="SQLite file, logs, postmortems.")] = Path(
        ".remediator"),
    demo: Annotated[bool, typer.Option(help="Send a sample alert once the stack is up.")] = False,
    once: Annotated[bool, typer.Option(help="Stop after the demo instead of staying up.")] = False,
) -> None:
    """Start the embedded stack: Temporal dev server, Redis, a worker, the webhook server."""
    from remediator.devstack import DevStack

    sys.exit(DevStack(state_dir, demo=demo, once=once).run())


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
