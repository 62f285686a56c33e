"""CLI commands that steer a running incident: acknowledge, assign, resolve, approve or
reject a step, list what waits, move the verify window. Registered in ``starters.cli``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from remediator.approval_proof import sign
from remediator.settings import Settings
from remediator.temporal import connect
from starters.cli_common import JsonOpt, ReasonOpt, StepOpt, fail, run_with
from starters.incidents import DecisionRefused, IncidentNotFound, Incidents
from workflows.approval_models import ApprovalAnswer, ApprovalRequest
from workflows.comms_models import Acknowledgement, Role, RoleAssignment
from workflows.verify import VerifyWorkflow
from workflows.verify_models import Resolution, WindowChange, WindowState


def ack(incident_id: str, user: Annotated[str, typer.Option("--as", help="Who acknowledges.")]) -> None:
    """Acknowledge an incident's page: stops paging the on-call engineer again."""
    run_with(lambda incidents: incidents.acknowledge(incident_id, Acknowledgement(user=user)))
    typer.echo(f"{incident_id}: acknowledged by {user}")


def resolve(
    incident_id: str, user: Annotated[str, typer.Option("--as", help="Who declares it resolved.")],
    reason: Annotated[str, typer.Option(help="Why; goes into the timeline.")] = "",
) -> None:
    """Declare a handed-over incident resolved (it then writes its postmortem)."""
    run_with(lambda incidents: incidents.resolve(incident_id, Resolution(by=user, reason=reason)))
    typer.echo(f"{incident_id}: resolution by {user} sent")


def assign(
    incident_id: str,
    role: Annotated[Role, typer.Option(help="The role to (re)assign.")],
    user: Annotated[str, typer.Option(help="Who takes the role.")],
    by: Annotated[str, typer.Option("--as", help="Who assigns it.")] = "",
) -> None:
    """Assign or reassign an incident role (IC, technical lead, communications lead, scribe)."""
    assignment = RoleAssignment(role=role, user=user, by=by)
    run_with(lambda incidents: incidents.assign(incident_id, assignment))
    typer.echo(f"{incident_id}: {role} is {user}")


def _identity(settings: Settings, claimed: str | None) -> tuple[str, str]:
    """The CLI user and their token: the token proves the user (the worker checks the
    signature it keys), ``--as`` only names them where this machine cannot tell."""
    token = settings.cli_token()
    if token is None:
        fail("approving needs your API token: set REMEDIATOR_API_TOKEN or write it to "
             f"{settings.api_token_file} (REMEDIATOR_API_TOKEN_FILE)", 2)
    user = settings.user_for_token(token)
    if user is not None and claimed not in (None, user):
        fail(f"--as {claimed} does not match the token's user {user}", 2)
    user = user or claimed
    if user is None:
        fail("say who you are with --as (the token is checked against that user)", 2)
    return user, token


def _decide(incident_id: str, step: str, claimed: str | None, reason: str,
            plan_hash: str | None, approve: bool) -> None:
    user, token = _identity(Settings(), claimed)

    async def go(incidents: Incidents) -> ApprovalAnswer:
        digest = plan_hash
        if digest is None and approve:
            waiting = {p.step_id: p for p in await incidents.pending(incident_id)}
            if step not in waiting:
                raise DecisionRefused(f"step {step!r} is not waiting for approval")
            typer.echo(f"plan: {waiting[step].plan}\nplan hash: {waiting[step].plan_hash}")
            digest = waiting[step].plan_hash
        request = ApprovalRequest(step=step, approver=user, plan_hash=digest, reason=reason,
                                  approve=approve, via="cli")
        return await incidents.decide(incident_id,
                                      sign(incident_id, request, token, datetime.now(UTC)))

    try:
        answer = run_with(go)
    except IncidentNotFound:
        fail(f"no incident {incident_id}")
    except DecisionRefused as exc:
        fail(f"refused: {exc}")
    typer.echo(f"{answer.step}: {answer.detail} ({len(answer.approvals)}/{answer.required})")


AsUser = Annotated[str | None, typer.Option(
    "--as", help="Who decides; must be the user of your API token (REMEDIATOR_API_TOKEN).")]


def approve(
    incident_id: str, step: StepOpt, user: AsUser = None, reason: ReasonOpt = "",
    plan_hash: Annotated[str | None, typer.Option(help="Pin the plan you reviewed.")] = None,
) -> None:
    """Approve a risky step waiting in an incident (answers at once: accepted or why not)."""
    _decide(incident_id, step, user, reason, plan_hash, approve=True)


def reject(incident_id: str, step: StepOpt, user: AsUser = None, reason: ReasonOpt = "") -> None:
    """Reject a waiting step: it is skipped and the rejection recorded."""
    _decide(incident_id, step, user, reason, None, approve=False)


def sign_decision(
    incident_id: str, step: StepOpt, user: AsUser = None, reason: ReasonOpt = "",
    approve_it: Annotated[bool, typer.Option("--approve/--reject",
                                             help="The decision to sign.")] = True,
    plan_hash: Annotated[str | None, typer.Option(help="The plan hash you reviewed.")] = None,
) -> None:
    """Print a signed decision for ``temporal workflow signal --name approve|reject --input``."""
    who, token = _identity(Settings(), user)
    signed = sign(incident_id, ApprovalRequest(step=step, approver=who, plan_hash=plan_hash,
                                               reason=reason, approve=approve_it),
                  token, datetime.now(UTC))
    body = signed.model_dump(mode="json", exclude={"approve", "via"})
    typer.echo(json.dumps(body, separators=(",", ":")))


def pending(json_out: JsonOpt = False) -> None:
    """All steps waiting for approval, across open incidents."""
    found = run_with(lambda incidents: incidents.pending_everywhere())
    if json_out:
        typer.echo(json.dumps([{"incident": i, **p.model_dump(mode="json")} for i, p in found],
                              indent=2))
        return
    for incident_id, p in found:
        typer.echo(f"{incident_id}  {p.step_id}  {p.risk}  {len(p.approvals)}/{p.required}  "
                   f"hash {p.plan_hash}  due {p.deadline:%H:%M:%S}Z  {p.plan}")
    if not found:
        typer.echo("nothing waits for approval")


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


COMMANDS = (ack, resolve, assign, approve, reject, sign_decision, pending, verify)
