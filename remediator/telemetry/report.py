"""How well incident response works, from incidents' records: MTTA, MTTR, the share
resolved by automation, MTTR per week, and per runbook its runs, verification pass
rate, undo rate, recurrences within 24 h of a passed verification and median time to
mitigate. Pure: ``starters/reports.py`` gathers the records from Temporal."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from remediator.telemetry.figures import IncidentFigures

RECURRENCE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class IncidentRecord:
    id: str
    service: str
    severity: str | None
    opened_at: datetime
    previous: str | None
    figures: IncidentFigures


@dataclass
class RunbookFigures:
    runbook: str
    runs: int = 0
    verifications: int = 0
    verification_pass_rate: float | None = None
    undo_rate: float | None = None
    recurrences_within_24h_of_pass: int = 0
    median_time_to_mitigate_seconds: float | None = None


@dataclass
class Report:
    since: datetime
    service: str | None
    incidents: int
    closed: int
    mtta_seconds: float | None
    acknowledged: int
    mttr_seconds: float | None
    resolved_by_automation: float | None
    handed_over: float | None
    mttr_by_week: dict[str, float] = field(default_factory=dict)
    runbooks: list[RunbookFigures] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        return data


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _recurred(record: IncidentRecord, by_previous: dict[str, list[IncidentRecord]]) -> bool:
    """A later occurrence of the same alert group opened within 24 h of this one's pass."""
    passed_at = record.figures.resolved_at
    if not record.figures.verifications or not record.figures.verifications[-1] or not passed_at:
        return False
    return any(timedelta(0) <= nxt.opened_at - passed_at <= RECURRENCE_WINDOW
               for nxt in by_previous.get(record.id, []))


def _runbook(name: str, runs: list[IncidentRecord],
             by_previous: dict[str, list[IncidentRecord]]) -> RunbookFigures:
    checks = [v for r in runs for v in r.figures.verifications]
    acted = [r for r in runs if r.figures.applied_steps]
    mitigate = [r.figures.first_mitigation_seconds for r in runs
                if r.figures.first_mitigation_seconds is not None]
    return RunbookFigures(
        runbook=name, runs=len(runs), verifications=len(checks),
        verification_pass_rate=_share(sum(checks), len(checks)),
        undo_rate=_share(sum(1 for r in acted if r.figures.undone_steps), len(acted)),
        recurrences_within_24h_of_pass=sum(1 for r in runs if _recurred(r, by_previous)),
        median_time_to_mitigate_seconds=statistics.median(mitigate) if mitigate else None)


def build_report(records: list[IncidentRecord], since: datetime,
                 service: str | None = None) -> Report:
    closed = [r for r in records if r.figures.resolve_seconds is not None]
    acked = [r.figures.acknowledge_seconds for r in records
             if r.figures.acknowledge_seconds is not None]
    weeks: dict[str, list[float]] = defaultdict(list)
    for r in closed:
        assert r.figures.resolve_seconds is not None and r.figures.resolved_at is not None
        weeks[_week(r.figures.resolved_at)].append(r.figures.resolve_seconds)
    by_previous: dict[str, list[IncidentRecord]] = defaultdict(list)
    for r in records:
        if r.previous:
            by_previous[r.previous].append(r)
    by_runbook: dict[str, list[IncidentRecord]] = defaultdict(list)
    for r in records:
        if r.figures.runbook:
            by_runbook[r.figures.runbook].append(r)
    return Report(
        since=since, service=service, incidents=len(records), closed=len(closed),
        mtta_seconds=_mean(acked), acknowledged=len(acked),
        mttr_seconds=_mean([r.figures.resolve_seconds for r in closed
                            if r.figures.resolve_seconds is not None]),
        resolved_by_automation=_share(
            sum(1 for r in closed if r.figures.outcome == "automated"), len(closed)),
        handed_over=_share(
            sum(1 for r in closed if r.figures.outcome != "automated"), len(closed)),
        mttr_by_week={week: statistics.fmean(v) for week, v in sorted(weeks.items())},
        runbooks=[_runbook(name, runs, by_previous) for name, runs in sorted(by_runbook.items())])
