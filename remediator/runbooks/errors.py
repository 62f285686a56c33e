"""Runbook and correlation-rule mistakes, each with its place in the YAML file
(``file:line: steps[0].params.flag: …``), so that ``remediator runbook validate`` can
point at every mistake at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Location = tuple[int | str, ...]


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


def read_yaml(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """The composed YAML tree (for line numbers) and the data; InvalidRunbook if not YAML."""
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InvalidRunbook([RunbookError(file, line, "", f"not valid YAML: {exc}")]) from None


def error_at(file: str, node: yaml.Node | None, loc: Location, message: str) -> RunbookError:
    """The error at a pydantic-style location, with the line it has in the file."""
    return RunbookError(file, _line_of(node, loc), _dotted(loc), message)


def _dotted(loc: Location) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: Location) -> int | None:
    """Walk the composed YAML tree along a pydantic error location."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else node
        else:
            break
    return node.start_mark.line + 1 if node is not None else None
