"""The figures of one incident, from its record (timeline and steps): how long until the
first mitigation, the first human acknowledgement and the resolution, how it ended, and
what its verifications said. Pure functions: the worker's metrics and
``remediator report`` compute them alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from remediator.models.incident import TimelineEntry
from remediator.models.mitigation import StepOutcome

Outcome = Literal["automated", "handed_over", "dry_run", "open"]


@dataclass(frozen=True)
class IncidentFigures:
    runbook: str | None
    outcome: Outcome
    # Seconds from the incident's opening; None when it never happened.
    first_mitigation_seconds: float | None
    acknowledge_seconds: float | None
    resolve_seconds: float | None
    resolved_at: datetime | None
    # Each verification window's result, in order (a fallback adds a second one).
    verifications: list[bool] = field(default_factory=list)
    undone_steps: int = 0
    applied_steps: int = 0


def runbook_of(timeline: Sequence[TimelineEntry]) -> str | None:
    """The runbook the incident matched ("runbook NAME v3, last verified …")."""
    for entry in timeline:
        if entry.kind == "runbook.matched" and entry.detail.startswith("runbook "):
            return entry.detail.removeprefix("runbook ").split(" ")[0].rstrip(",") or None
    return None


def _first(timeline: Sequence[TimelineEntry], kind: str) -> TimelineEntry | None:
    return next((e for e in timeline if e.kind == kind), None)


def _last(timeline: Sequence[TimelineEntry], kind: str) -> TimelineEntry | None:
    return next((e for e in reversed(timeline) if e.kind == kind), None)


def figures_of(opened_at: datetime, timeline: Sequence[TimelineEntry],
               steps: Sequence[StepOutcome], resolved: bool, runbook: str | None = None,
               dry_run: bool = False) -> IncidentFigures:
    """``resolved``: the incident's status says so. Resolved by automation when a
    verification passed and nobody had to take over; a human's (or the alerts')
    resolution after a hand-over counts for the humans."""
    kinds = {e.kind for e in timeline}
    handed_over = "incident.handed_over" in kinds
    outcome: Outcome = ("dry_run" if dry_run else "handed_over" if handed_over
                        else "automated" if resolved else "open")
    end = (_last(timeline, "incident.resolved") if handed_over or dry_run
           else _last(timeline, "verify.passed")) if resolved else None
    end = end or (_last(timeline, "incident.resolved") if resolved else None)

    def since_open(entry: TimelineEntry | None) -> float | None:
        return None if entry is None else max(0.0, (entry.at - opened_at).total_seconds())

    return IncidentFigures(
        runbook=runbook or runbook_of(timeline), outcome=outcome,
        first_mitigation_seconds=since_open(_first(timeline, "mitigation.applied")),
        acknowledge_seconds=since_open(_first(timeline, "incident.acknowledged")),
        resolve_seconds=since_open(end), resolved_at=end.at if end else None,
        verifications=[e.kind == "verify.passed" for e in timeline
                       if e.kind in ("verify.passed", "verify.failed")],
        undone_steps=sum(1 for s in steps if s.state == "undone"),
        applied_steps=sum(1 for s in steps if s.state in ("applied", "undone", "undo_conflict")))
