"""``remediator report``: how well incident response works (MTTA, MTTR, automation's
share, per-runbook figures), from Temporal visibility and the incidents' records."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from remediator.telemetry.report import Report, build_report
from starters.cli.common import JsonOpt, fail, run_with
from starters.cli.report_chart import BadChartPath, check_chart_path, write_chart
from starters.incidents import Incidents
from starters.reports import incident_records

SINCE = re.compile(r"^(\d{1,5})([mhdw])$")
UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
        "w": timedelta(weeks=1)}


def since_of(text: str, now: datetime) -> datetime:
    found = SINCE.match(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise ValueError(f"bad --since {text!r}: use a number and a unit, e.g. 90m, 12h, 30d, 2w")
    return now - int(found.group(1)) * UNIT[found.group(2)]


def report(
    since: Annotated[str, typer.Option(help="How far back: 90m, 12h, 30d, 2w.")] = "30d",
    service: Annotated[str | None, typer.Option(help="Only this service's incidents.")] = None,
    json_out: JsonOpt = False,
    chart: Annotated[Path | None, typer.Option(
        help="Also draw MTTR per week and per-runbook pass rates into this PNG file.")] = None,
) -> None:
    """How well it works: MTTA, MTTR, share resolved by automation, and per runbook its
    runs, verification pass rate, undo rate, recurrences and median time to mitigate."""
    try:
        start = since_of(since, datetime.now(UTC))
        if chart is not None:
            check_chart_path(chart)
    except (ValueError, BadChartPath) as exc:
        fail(str(exc), 2)

    async def gather(incidents: Incidents) -> Report:
        return build_report(await incident_records(incidents, start, service), start, service)

    found = run_with(gather)
    if chart is not None:
        try:
            write_chart(found, chart)
        except OSError as exc:
            fail(f"{chart}: cannot write the chart: {exc.strerror or exc}", 2)
    if json_out:
        typer.echo(json.dumps(found.as_json(), indent=2))
        return
    for line in lines(found):
        typer.echo(line)
    if chart is not None:
        typer.echo(f"chart: {chart}")


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _pct(share: float | None) -> str:
    return "--" if share is None else f"{100 * share:.0f} %"


def lines(r: Report) -> list[str]:
    scope = f", service {r.service}" if r.service else ""
    out = [f"since {r.since:%Y-%m-%d %H:%M}Z{scope}: {r.incidents} incidents, {r.closed} resolved",
           f"  MTTA {_dur(r.mtta_seconds)} ({r.acknowledged} acknowledged by a human)",
           f"  MTTR {_dur(r.mttr_seconds)}",
           f"  resolved by automation {_pct(r.resolved_by_automation)}, "
           f"handed over {_pct(r.handed_over)}"]
    if r.runbooks:
        out.append("  runbook                         runs  pass rate  undo rate  recurred  "
                   "median to mitigate")
    for b in r.runbooks:
        out.append(f"  {b.runbook:30} {b.runs:5}  {_pct(b.verification_pass_rate):>9}  "
                   f"{_pct(b.undo_rate):>9}  {b.recurrences_within_24h_of_pass:8}  "
                   f"{_dur(b.median_time_to_mitigate_seconds)}")
    return out
