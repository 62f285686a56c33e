"""``remediator declare``: a human opens an incident with no alert (seed 05's user and
team reports, seed 02's ``/incident-declare sev-1``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from remediator.settings import Settings
from starters.cli_common import JsonOpt, fail, run_with
from starters.declarations import BadDeclaration, declaration_from
from workflows.models import Severity


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
