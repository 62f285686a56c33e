"""Commands on incidents as a whole: list them, show one, declare one (seed 05's user
and team reports, seed 02's ``/incident-declare sev-1``), acknowledge its page, assign
its roles, declare it resolved."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from remediator.models.comms import Acknowledgement, Role, RoleAssignment
from remediator.settings import Settings
from remediator.severity import Severity
from starters.cli.common import JsonOpt, fail, run_with
from starters.declarations import BadDeclaration, declaration_from, severity_of
from starters.guard import Guard
from starters.incidents import IncidentNotFound, Incidents, Summary
from workflows.guard.models import PauseState
from workflows.incident_models import Resolution, SeverityChange


def incidents(
    json_out: JsonOpt = False,
    all_: Annotated[bool, typer.Option("--all", help="Include closed incidents.")] = False,
    limit: Annotated[int | None, typer.Option(
        min=1, help="Show at most this many (newest first); says how many more there are.")
    ] = None,
) -> None:
    """List open incidents (from Temporal visibility); says so when automation is paused."""
    settings = Settings()

    async def listing(incidents: Incidents) -> tuple[list[Summary], int, PauseState | None]:
        found = await incidents.list(open_only=not all_, limit=limit)
        more = 0
        if limit is not None and len(found) == limit:
            more = max(0, await incidents.count(open_only=not all_) - limit)
        return found, more, await Guard(incidents.client, settings).paused()

    found, more, paused = run_with(listing)
    notes = [] if paused is None else [
        f"automation paused by {paused.by} since {paused.since:%Y-%m-%d %H:%M:%S}Z: "
        f"{paused.reason} (incidents run in shadow mode)"]
    if more:
        notes.append(f"{more} more not shown (raise --limit, or leave it out to list all)")
    if json_out:
        for note in notes:
            typer.echo(note, err=True)  # stdout stays the list scripts parse
        typer.echo(json.dumps([s.__dict__ for s in found], indent=2))
        return
    for line in [*notes[:1], *table(found), *notes[1:]]:
        typer.echo(line)
    if not found:
        typer.echo("no incidents" if all_ else "no open incidents")


def table(found: list[Summary]) -> list[str]:
    """Aligned columns as wide as their widest value (``awaiting_approval`` included)."""
    if not found:
        return []
    rows = [("ID", "SEV", "STATUS", "PHASE", "SERVICE", "STARTED")] + [
        (s.id, s.severity or "--", s.status, s.phase, s.service or "--", s.started[:19] + "Z")
        for s in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(v.ljust(w) for v, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
            for row in rows]


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


def declare(
    title: Annotated[str, typer.Option(help="What is wrong, as responders should read it.")],
    service: Annotated[str, typer.Option(help="The affected service.")],
    severity: Annotated[Severity, typer.Option(help="P0 (SEV-1) … P3 (SEV-4).")],
    user: Annotated[str, typer.Option("--as", help="Who declares it (recorded).")],
    runbook: Annotated[str | None, typer.Option(
        help="Run this runbook's steps (risky ones wait for approval); without one the "
             "incident goes to humans.")] = None,
    label: Annotated[list[str] | None, typer.Option(
        help="k=v, repeatable: labels the runbook's ${labels.k} are filled from.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Declare an incident: triage, roles, communications and the postmortem run as usual."""
    labels: dict[str, str] = {}
    for item in label or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"bad --label {item!r}: use k=v", 2)
        labels[key] = value
    fields: dict[str, object] = {"title": title, "service": service, "severity": severity,
                                 "labels": labels}
    if runbook is not None:
        fields["runbook"] = runbook
    try:
        declaration = declaration_from(fields, user, Settings().runbook_dir)
    except BadDeclaration as exc:
        fail(f"bad declaration: {exc}", 2)
    opened = run_with(lambda incidents: incidents.declare(declaration))
    if json_out:
        typer.echo(json.dumps({"id": opened.id, "created": True}))
        return
    typer.echo(f"{opened.id}: declared by {user} ({severity}, {service})")


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


def severity(
    incident_id: str,
    level: Annotated[str, typer.Argument(help="P0–P3, or seed 02's sev-1–sev-4 (SEV-1 is P0).")],
    user: Annotated[str, typer.Option("--as", help="Who re-classifies it.")],
    reason: Annotated[str, typer.Option(help="Why; goes into the timeline.")],
) -> None:
    """Raise or lower an incident's severity: its clocks, paging and updates follow; a raise
    pages whom the new level adds (seed 04: "better to downgrade than to under-respond")."""
    try:
        change = SeverityChange(by=user, severity=severity_of(level), reason=reason)
    except (BadDeclaration, ValidationError) as exc:
        fail(f"invalid severity change: {exc}", 2)
    try:
        run_with(lambda incidents: incidents.set_severity(incident_id, change))
    except IncidentNotFound:
        fail(f"no incident {incident_id}")
    typer.echo(f"{incident_id}: severity {change.severity} by {user} sent")


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
