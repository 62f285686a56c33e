"""``remediator postmortem ID``: print an incident's postmortem document, or edit it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
import yaml
from pydantic import ValidationError

from starters.cli.common import fail, run_with
from starters.incidents import IncidentNotFound
from workflows.postmortem import PostmortemEdit


def postmortem(
    incident_id: str,
    edit: Annotated[Path | None, typer.Option(
        "--edit", help="YAML/JSON file with root_cause, five_whys, impact, went_well, went_poorly, "
        "lessons_learned, action_items, close_action_items, review_done; '-' opens $EDITOR.",
        allow_dash=True)] = None,
    user: Annotated[str | None, typer.Option("--as", help="Who edits (recorded).")] = None,
) -> None:
    """Print the incident's postmortem document, or edit it (with --edit)."""
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
        template = ("root_cause: \nfive_whys: []\nlessons_learned: []\naction_items: []\n"
                    "review_done: false\n")
        text = click.edit(template, extension=".yaml") or ""
    else:
        text = path.read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise typer.BadParameter("the edit file must be a mapping")
    return data
