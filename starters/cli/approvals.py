"""Approval commands: list the steps waiting for approval, approve or reject one, sign a
decision for another path (``temporal workflow signal``). The CLI acts as the user of
its API token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest
from remediator.settings import Settings
from starters.cli.common import JsonOpt, ReasonOpt, StepOpt, fail, run_with
from starters.incidents import DecisionRefused, IncidentNotFound, Incidents
from workflows.approvals.models import ApprovalAnswer


def _identity(settings: Settings, claimed: str | None) -> tuple[str, str]:
    """The CLI user and their token: the token proves the user (the worker checks the
    signature it keys), ``--as`` only names them where this machine cannot tell."""
    token = settings.cli_token(claimed)
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
            for line in waiting[step].evidence.splitlines():
                typer.echo(f"evidence: {line}")
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
    """Print a signed decision to pass to: temporal workflow signal --name approve|reject --input."""
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
        for line in p.evidence.splitlines():
            typer.echo(f"    evidence: {line}")
    if not found:
        typer.echo("nothing waits for approval")
