"""A runbook meets an alert: the runbook whose ``match`` fits the alert's labels, with
its ``${labels.NAME}`` placeholders filled from them."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from remediator.models.runbook import Runbook

_PLACEHOLDER = re.compile(r"\$\{labels\.([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingLabel(ValueError):
    pass


class StandIn(dict[str, str]):
    """Labels that have every label: validation fills placeholders with a stand-in value."""

    def __missing__(self, key: str) -> str:
        return "1"


def fill(value: Any, labels: dict[str, str]) -> Any:
    """``value`` (params, or a whole runbook as JSON data) with its placeholders filled."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in labels and not isinstance(labels, StandIn):
                raise MissingLabel(f"the runbook needs the alert label {m.group(1)!r}")
            return labels[m.group(1)]

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, dict):
        return {k: fill(v, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, labels) for v in value]
    return value


def render_runbook(runbook: Runbook, labels: dict[str, str]) -> Runbook:
    """Substitute ``${labels.NAME}`` placeholders with the alert's label values."""
    return Runbook.model_validate(fill(runbook.model_dump(mode="json"), labels))


def match_runbook(runbooks: list[Runbook], labels: dict[str, str]) -> Runbook | None:
    """The most specific runbook whose every ``match`` label fits (glob patterns allowed)."""
    fitting = [
        rb
        for rb in runbooks
        if all(fnmatchcase(labels.get(k, ""), pattern) for k, pattern in rb.match.items())
    ]
    fitting.sort(key=lambda rb: (-len(rb.match), rb.name))
    return fitting[0] if fitting else None
