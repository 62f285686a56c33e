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


def runbook_files(directory: Path) -> list[Path]:
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    # correlation.yaml (remediator.runbooks.correlation) lives beside the runbooks; it is not one.
    return [f for f in files if f.name != "correlation.yaml"]


def load_runbooks(directory: Path, actions: ActionLookup) -> list[Runbook]:
    """All runbooks in a directory (``*.yaml``/``*.yml``), each fully validated."""
    return [load_runbook_file(f, actions) for f in runbook_files(directory)]


class RunbookDirectory:
    """The runbooks of a directory as they are on disk now, each file parsed again only
    when it changed (its size or modification time): an edited, added or removed runbook
    applies to the next lookup, and an unchanged one costs a ``stat``. Parsing every file
    on every incident cost ~2 ms per runbook on the worker's event loop (BENCHMARKS.md)."""

    def __init__(self, directory: Path, actions: ActionLookup) -> None:
        self.directory = directory
        self._actions = actions
        self._parsed: dict[Path, tuple[tuple[int, int], Runbook]] = {}

    def load(self) -> list[Runbook]:
        """Every runbook, fully validated; InvalidRunbook for a file that is not (it is
        parsed again next time, so the fix applies as soon as it is saved)."""
        parsed: dict[Path, tuple[tuple[int, int], Runbook]] = {}
        for file in runbook_files(self.directory):
            stat = file.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            known = self._parsed.get(file)
            parsed[file] = (known if known is not None and known[0] == version
                            else (version, load_runbook_file(file, self._actions)))
        self._parsed = parsed
        return [runbook for _, runbook in parsed.values()]
