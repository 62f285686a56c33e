"""A human's declaration (CLI ``declare``, ``POST /v1/incidents``) checked before anything
starts: the fields, and that a named runbook exists and fills in from the labels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remediator.runbooks.errors import InvalidRunbook
from remediator.runbooks.labels import MissingLabel, render_runbook
from remediator.runbooks.loading import load_runbooks
from remediator.severity import Severity
from starters.alerts.common import explain
from workflows.catalogue import lookup
from workflows.detect import runbook_labels
from workflows.incident_models import Declaration
from workflows.occurrence import declared_alert


class DeclareBody(BaseModel):
    """``POST /v1/incidents``: the declarer is who authenticated, never the body."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=256)
    service: str = Field(min_length=1, max_length=128)
    severity: Severity
    runbook: str | None = Field(default=None, min_length=1, max_length=128)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the check renders labels only


class BadDeclaration(ValueError):
    """The declaration cannot open an incident; the message says why."""


def severity_of(word: str) -> Severity:
    """``P1`` or seed 02's ``sev-2`` (SEV-1 is P0)."""
    word = word.upper().replace("_", "-")
    if word.startswith("SEV"):
        digits = word.removeprefix("SEV").lstrip("-")
        if digits in ("1", "2", "3", "4"):
            return Severity(f"P{int(digits) - 1}")
    try:
        return Severity(word)
    except ValueError:
        raise BadDeclaration(f"unknown severity {word!r}: P0–P3 or sev-1–sev-4") from None


def declaration_from(fields: dict[str, Any], by: str, runbook_dir: Path) -> Declaration:
    unknown = sorted(set(fields) - set(DeclareBody.model_fields))
    if unknown:
        raise BadDeclaration(f"unknown field(s): {', '.join(unknown)}")
    try:
        declaration = Declaration.model_validate({**fields, "by": by})
    except ValidationError as exc:
        raise BadDeclaration(explain(exc)) from None
    if declaration.runbook is not None:
        _check_runbook(declaration, runbook_dir)
    return declaration


def _check_runbook(declaration: Declaration, runbook_dir: Path) -> None:
    try:
        runbooks = {r.name: r for r in load_runbooks(runbook_dir, lookup)}
    except InvalidRunbook as exc:
        raise BadDeclaration(f"the runbooks do not load: {exc}") from None
    runbook = runbooks.get(declaration.runbook or "")
    if runbook is None:
        raise BadDeclaration(f"no runbook {declaration.runbook!r}; known: "
                             + (", ".join(sorted(runbooks)) or "none"))
    alert = declared_alert("INC-check", declaration, _EPOCH)
    try:
        render_runbook(runbook, runbook_labels(alert))
    except MissingLabel as exc:
        raise BadDeclaration(f"runbook {runbook.name}: {exc} (add it with --label / labels)") from None
