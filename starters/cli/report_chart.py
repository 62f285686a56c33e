"""The report's chart: MTTR per week and each runbook's verification pass rate, one PNG
(matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

from remediator.telemetry.report import Report


class BadChartPath(ValueError):
    """The chart cannot be written there; nothing was written."""


def check_chart_path(path: Path) -> Path:
    """``path`` if a PNG can be written there (checked before any work is done)."""
    if path.suffix.lower() != ".png":
        raise BadChartPath(f"{path}: the chart is a PNG file (name it *.png)")
    if path.is_dir():
        raise BadChartPath(f"{path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadChartPath(f"{path}: no directory {parent}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BadChartPath(f"{path}: not writable")
    return path


def write_chart(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (weekly, runbooks) = plt.subplots(1, 2, figsize=(12, 4.5))
    weeks = list(report.mttr_by_week)
    weekly.bar(weeks, [report.mttr_by_week[w] / 60 for w in weeks], color="#4c72b0")
    weekly.set_title("MTTR per week")
    weekly.set_ylabel("minutes")
    weekly.tick_params(axis="x", labelrotation=45)
    rated = [r for r in report.runbooks if r.verification_pass_rate is not None]
    runbooks.barh([r.runbook for r in rated],
                  [100 * (r.verification_pass_rate or 0) for r in rated], color="#55a868")
    runbooks.set_xlim(0, 100)
    runbooks.set_title("Verification pass rate per runbook")
    runbooks.set_xlabel("% of verification windows passed")
    scope = f" — service {report.service}" if report.service else ""
    figure.suptitle(f"remediator: {report.incidents} incidents since "
                    f"{report.since:%Y-%m-%d}{scope}")
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        figure.savefig(tmp, format="png", dpi=100)
        tmp.replace(path)
    finally:
        plt.close(figure)
        tmp.unlink(missing_ok=True)
