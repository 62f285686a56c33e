"""The postmortem's picture: the main metric over the incident, with the alert's onset,
each mitigation, the verify window and the resolution marked (matplotlib, Agg).

The marks are also written into the PNG's ``Description`` text chunk (JSON), so a reader
(or a test) can check what the picture shows without looking at pixels.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from activities.evidence.collect import bundle_name, failure_line
from activities.evidence.series import PrometheusUnavailable, query_range
from activities.evidence.store import ArtefactStore
from activities.support.errors import MitigationRefused
from remediator.models.postmortem import PostmortemInput

log = structlog.get_logger()
APPLIED = "mitigation.applied"
WINDOW_START = "verify.window_started"
WINDOW_END = ("verify.passed", "verify.failed")
RESOLVED = "incident.resolved"
# Before onset, the chart shows at least this much of the metric's normal level.
LEAD = timedelta(minutes=5)


@dataclass(frozen=True)
class Mark:
    kind: str  # onset | mitigation | verify_start | verify_end | resolved
    at: datetime
    label: str


def chart_name(incident_id: str) -> str:
    return f"{incident_id}-metric.png"


def marks_of(doc: PostmortemInput) -> list[Mark]:
    """The incident's moments, from its alerts and timeline."""
    onset = doc.evidence.onset if doc.evidence else min(
        (a.starts_at or a.received_at for a in doc.alerts), default=doc.opened_at)
    marks = [Mark("onset", onset, "alert onset")]
    timeline = sorted(doc.timeline, key=lambda e: e.at)
    marks += [Mark("mitigation", e.at, e.detail.split(":", 1)[0]) for e in timeline
              if e.kind == APPLIED]
    starts = [e for e in timeline if e.kind == WINDOW_START]
    ends = [e for e in timeline if e.kind in WINDOW_END]
    if starts:
        marks.append(Mark("verify_start", starts[0].at, "verify window"))
    if ends:
        marks.append(Mark("verify_end", ends[-1].at, ends[-1].kind.split(".")[1]))
    resolved = [e for e in timeline if e.kind == RESOLVED]
    if resolved:
        marks.append(Mark("resolved", resolved[-1].at, "resolved"))
    return marks


def draw(series: list[dict[str, Any]], marks: list[Mark], title: str) -> bytes:
    """A PNG of ``series`` (``[{"labels", "points": [[t, v], …]}]``) with ``marks``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: workers are headless
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        for s in series:
            points = s["points"]
            label = ",".join(f"{k}={v}" for k, v in sorted(s["labels"].items())
                             if k != "__name__")[:60] or None
            times: Any = [datetime.fromtimestamp(t, UTC) for t, _ in points]  # matplotlib takes dates
            ax.plot(times, [v for _, v in points], label=label)
        _mark(ax, marks)
        ax.set_title(title[:100])
        ax.set_xlabel("UTC")
        if any(s["labels"] for s in series):
            ax.legend(loc="upper left", fontsize="small")
        fig.autofmt_xdate()
        out = io.BytesIO()
        meta = json.dumps([{**asdict(m), "at": m.at.isoformat()} for m in marks])
        fig.savefig(out, format="png", metadata={"Description": meta})
        return out.getvalue()
    finally:
        plt.close(fig)


def _mark(ax: Any, marks: list[Mark]) -> None:
    colours = {"onset": "red", "mitigation": "purple", "resolved": "green"}
    starts = [m for m in marks if m.kind == "verify_start"]
    ends = [m for m in marks if m.kind == "verify_end"]
    if starts and ends:
        ax.axvspan(starts[0].at, ends[0].at, color="orange", alpha=0.2, label="verify window")
    for m in marks:
        if m.kind in colours:
            ax.axvline(m.at, color=colours[m.kind], linestyle="--", linewidth=1)
            ax.annotate(m.label, (m.at, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize="small")


class ChartMaker:
    """Draws the chart of an incident's main metric and stores it beside the postmortem."""

    def __init__(self, http: httpx.AsyncClient, prometheus_url: str, store: ArtefactStore) -> None:
        self._http = http
        self._base = prometheus_url
        self._store = store

    async def _series(self, doc: PostmortemInput, start: datetime, end: datetime
                      ) -> list[dict[str, Any]]:
        """The metric now (Prometheus), else the series the evidence bundle kept."""
        assert doc.evidence is not None and doc.evidence.main_query is not None
        query = doc.evidence.main_query
        try:
            return await query_range(self._http, self._base, query, start, end)
        except (PrometheusUnavailable, ValueError) as exc:
            log.info("chart.from_bundle", incident_id=doc.incident_id, reason=str(exc))
        raw = await self._store.get(bundle_name(doc.incident_id))
        kept = json.loads(raw) if raw else {}
        for entry in kept.get("sources", {}).get("metrics", {}).get("series", []):
            if entry.get("query") == query:
                found: list[dict[str, Any]] = entry["series"]
                return found
        return []

    async def chart(self, doc: PostmortemInput) -> str | None:
        """The chart's file name (beside the document), or None with nothing to draw."""
        if doc.evidence is None or doc.evidence.main_query is None:
            return None
        name = chart_name(doc.incident_id)
        if self._store.path(name).exists():  # drawn for an earlier version of the document
            return name
        marks = marks_of(doc)
        start = min(m.at for m in marks) - LEAD
        end = max([doc.closed_at, *(m.at for m in marks)]) + timedelta(minutes=1)
        try:
            series = await self._series(doc, start, end)
            png = draw(series, marks, doc.evidence.main_query)
            await self._store.put(name, png, "image/png")
        except (OSError, MitigationRefused, ValueError) as exc:
            log.warning("chart.not_drawn", incident_id=doc.incident_id, reason=failure_line(exc))
            return None
        return name
