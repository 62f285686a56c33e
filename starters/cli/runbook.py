"""``remediator runbook …``: check runbook files, list the actions they may use, and see
which runbook an alert would get — all offline, nothing started."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from remediator.models.alert import AlertBatch
from remediator.models.runbook import Runbook
from remediator.runbooks.correlation import is_rules_file, parse_rules
from remediator.runbooks.errors import InvalidRunbook
from remediator.runbooks.labels import MissingLabel, match_runbook, render_runbook
from remediator.runbooks.loading import load_runbook_file, load_runbooks
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.alerts.common import BadAlert, guess_format
from starters.alerts.generic import parse_generic
from starters.alerts.grafana import parse_grafana
from starters.alerts.pagerduty import parse_pagerduty
from starters.cli.common import JsonOpt, fail
from workflows.catalogue import CATALOGUE, Action, lookup
from workflows.detect import primary_alert, runbook_labels

runbook_app = typer.Typer(help="Work with runbook files.", no_args_is_help=True)


def warnings(runbook: Runbook) -> list[str]:
    """Seed 04's runbook best practices a valid runbook still misses (not errors)."""
    found = [f"step {s.id} ({s.action}) cannot be undone: say so in the runbook's page"
             for s in [*runbook.steps, *runbook.fallback_steps]
             if lookup(s.action).undo_activity is None]
    if runbook.version is None or runbook.last_verified is None:
        found.append("no version/last_verified: date-stamp and version runbooks")
    return found


@runbook_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(exists=True)]) -> None:
    """Validate runbook files (and correlation.yaml, the correlation rules beside them);
    print every error with file, line and field (exit 1), and warnings where a runbook
    misses a best practice (exit 0)."""
    failed = False
    for file in files:
        try:
            if is_rules_file(file):
                rules = parse_rules(file.read_text(encoding="utf-8"), str(file))
                typer.echo(f"{file}: ok ({len(rules.rules)} correlation rule(s))")
                continue
            rb = load_runbook_file(file, lookup)
        except InvalidRunbook as exc:
            failed = True
            for err in exc.errors:
                typer.echo(str(err), err=True)
            continue
        typer.echo(f"{file}: ok ({rb.name}: {len(rb.steps)} step(s))")
        for warning in warnings(rb):
            typer.echo(f"{file}: warning: {warning}", err=True)
    if failed:
        raise typer.Exit(1)


def _type(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON-schema property's type, readably: ``string``, ``'a' | 'b'``, ``integer | null``."""
    if "$ref" in spec:
        return _type(defs[spec["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in spec:
        return " | ".join(repr(v) for v in spec["enum"])
    if "const" in spec:
        return repr(spec["const"])
    if "anyOf" in spec:
        return " | ".join(_type(s, defs) for s in spec["anyOf"])
    return str(spec.get("type", "any"))


def _describe(action: Action) -> dict[str, Any]:
    schema = action.params.model_json_schema()
    defs, required = schema.get("$defs", {}), set(schema.get("required", []))
    params = {name: {"type": _type(spec, defs), "required": name in required,
                     "default": spec.get("default")}
              for name, spec in schema.get("properties", {}).items()}
    return {"action": action.name, "risk": str(action.risk), "undo": action.undo_activity is not None,
            "summary": " ".join((action.params.__doc__ or "").split()), "params": params}


@runbook_app.command("actions")
def actions(json_out: JsonOpt = False) -> None:
    """The actions a runbook step may name: default risk, whether it can be undone, params."""
    described = [_describe(a) for a in CATALOGUE.values()]
    if json_out:
        typer.echo(json.dumps(described, indent=2))
        return
    for d in described:
        undo = "undoable" if d["undo"] else "no undo"
        typer.echo(f"{d['action']}  ({d['risk']} by default, {undo})\n  {d['summary']}")
        for name, p in d["params"].items():
            need = "required" if p["required"] else f"default {p['default']!r}"
            typer.echo(f"    {name}: {p['type']}, {need}")


def _parse(body: bytes, kind: str) -> AlertBatch:
    now = datetime.now(UTC)
    parsed: AlertBatch | str
    if kind == "pagerduty":
        parsed = parse_pagerduty(body, now)
    elif kind == "generic":
        parsed = parse_generic(body, now)
    else:
        parse = parse_grafana if kind == "grafana" else parse_alertmanager
        parsed = parse(body, now, 10_000)
    if isinstance(parsed, str):
        fail(f"no incident: {parsed}")
    return parsed


def _plan(runbook: Runbook) -> list[str]:
    lines = [f"runbook {runbook.name}" + (" (dry run: plans only)" if runbook.dry_run else "")]
    for step in runbook.steps:
        action = lookup(step.action)
        lines.append(f"  step {step.id}: {step.action} ({action.risk_of(step)}) "
                     f"{json.dumps(step.params, sort_keys=True)}")
    for check in runbook.verify.checks:
        lines.append(f"  verify: {check.source} {check.label}")
    return lines


@runbook_app.command("match")
def match(
    alert: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Alert payload.")],
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Runbook directory (default: REMEDIATOR_RUNBOOK_DIR).")] = None,
) -> None:
    """Which runbook an alert payload would get, with its steps filled in from the labels.
    Exits 1 when none matches (the incident would go to humans)."""
    body = alert.read_bytes()
    try:
        batch = _parse(body, guess_format(body))
        runbooks = load_runbooks(directory or Settings().runbook_dir, lookup)
    except (BadAlert, InvalidRunbook) as exc:
        fail(str(exc), 2)
    labels = runbook_labels(primary_alert(batch.alerts))
    found = match_runbook(runbooks, labels)
    if found is None:
        fail(f"no runbook matches {labels}: the incident would go to humans")
    try:
        typer.echo("\n".join(_plan(render_runbook(found, labels))))
    except MissingLabel as exc:
        fail(f"runbook {found.name} matches, but {exc}")
