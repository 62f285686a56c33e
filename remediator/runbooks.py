"""Runbooks as data: YAML files validated by pydantic and the action catalogue.

Errors carry their location (``file:line: steps[0].params.flag: …``) so that
``remediator runbook validate`` can point at every mistake at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workflows.catalogue import UnknownAction, lookup
from workflows.models import Runbook


@dataclass(frozen=True)
class RunbookError:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<root>'}: {self.message}"


class InvalidRunbook(ValueError):
    def __init__(self, errors: list[RunbookError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Walk the composed YAML tree along a pydantic error location."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else node
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


STEP_LISTS = ("steps", "fallback_steps")


def _check_actions(data: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for key in STEP_LISTS:
        steps = data.get(key)
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict) or "action" not in step:
                continue
            try:
                action = lookup(str(step["action"]))
            except UnknownAction as exc:
                problems.append(((key, i, "action"), str(exc)))
                continue
            try:
                # Placeholders are filled from alert labels at incident time; validate the
                # shape with a stand-in value (the activity validates the real one again).
                action.validate(_fill(step.get("params") or {}, _STAND_IN))
            except ValidationError as exc:
                for err in exc.errors():
                    problems.append(((key, i, "params", *err["loc"]), err["msg"]))
    return problems


def _check_step_ids(data: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """Step ids are idempotency keys of their activities: unique across steps and fallbacks."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    seen: set[str] = set()
    for key in STEP_LISTS:
        steps = data.get(key)
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            sid = step.get("id") if isinstance(step, dict) else None
            if not isinstance(sid, str):
                continue  # a missing or malformed id is pydantic's to report
            if sid in seen:
                problems.append(((key, i, "id"), f"duplicate step id {sid!r}"))
            seen.add(sid)
    return problems


def parse_runbook(text: str, file: str = "<runbook>") -> Runbook:
    """Parse and fully validate one runbook; raise InvalidRunbook listing every error."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InvalidRunbook([RunbookError(file, line, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise InvalidRunbook([RunbookError(file, 1, "", "a runbook is a YAML mapping")])
    problems: list[tuple[tuple[int | str, ...], str]] = []
    runbook: Runbook | None = None
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as exc:
        problems += [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    problems += _check_actions(data) + _check_step_ids(data)
    if problems or runbook is None:
        errors = [RunbookError(file, _line_of(node, loc), _dotted(loc), msg) for loc, msg in problems]
        raise InvalidRunbook(errors)
    return runbook


def load_runbook_file(path: Path) -> Runbook:
    return parse_runbook(path.read_text(encoding="utf-8"), str(path))


def load_runbooks(directory: Path) -> list[Runbook]:
    """All runbooks in a directory (``*.yaml``/``*.yml``), each fully validated."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    # correlation.yaml (remediator.correlation) lives beside the runbooks; it is not one.
    return [load_runbook_file(f) for f in files if f.name != "correlation.yaml"]


class _StandIn(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "1"


_STAND_IN = _StandIn()

_PLACEHOLDER = re.compile(r"\$\{labels\.([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingLabel(ValueError):
    pass


def _fill(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in labels and not isinstance(labels, _StandIn):
                raise MissingLabel(f"the runbook needs the alert label {m.group(1)!r}")
            return labels[m.group(1)]

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, dict):
        return {k: _fill(v, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, labels) for v in value]
    return value


def render_runbook(runbook: Runbook, labels: dict[str, str]) -> Runbook:
    """Substitute ``${labels.NAME}`` placeholders with the alert's label values."""
    return Runbook.model_validate(_fill(runbook.model_dump(mode="json"), labels))


def match_runbook(runbooks: list[Runbook], labels: dict[str, str]) -> Runbook | None:
    """The most specific runbook whose every ``match`` label fits (glob patterns allowed)."""
    fitting = [
        rb
        for rb in runbooks
        if all(fnmatchcase(labels.get(k, ""), pattern) for k, pattern in rb.match.items())
    ]
    fitting.sort(key=lambda rb: (-len(rb.match), rb.name))
    return fitting[0] if fitting else None
