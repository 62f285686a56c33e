"""Runbooks from YAML files, each fully validated; InvalidRunbook lists every mistake."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from remediator.models.runbook import Runbook
from remediator.runbooks.errors import InvalidRunbook, RunbookError, error_at, read_yaml
from remediator.runbooks.validation import ActionLookup, Problem, check_actions, check_step_ids


def parse_runbook(text: str, file: str = "<runbook>", *, actions: ActionLookup) -> Runbook:
    """Parse and fully validate one runbook, its steps against the catalogue ``actions``;
    raise InvalidRunbook listing every error."""
    node, data = read_yaml(text, file)
    if not isinstance(data, dict):
        raise InvalidRunbook([RunbookError(file, 1, "", "a runbook is a YAML mapping")])
    problems: list[Problem] = []
    runbook: Runbook | None = None
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as exc:
        problems += [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    problems += check_actions(data, actions) + check_step_ids(data)
    if problems or runbook is None:
        raise InvalidRunbook([error_at(file, node, loc, msg) for loc, msg in problems])
    return runbook


def load_runbook_file(path: Path, actions: ActionLookup) -> Runbook:
    return parse_runbook(path.read_text(encoding="utf-8"), str(path), actions=actions)


def load_runbooks(directory: Path, actions: ActionLookup) -> list[Runbook]:
    """All runbooks in a directory (``*.yaml``/``*.yml``), each fully validated."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    # correlation.yaml (remediator.runbooks.correlation) lives beside the runbooks; it is not one.
    return [load_runbook_file(f, actions) for f in files if f.name != "correlation.yaml"]
