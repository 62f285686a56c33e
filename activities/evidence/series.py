"""Metrics evidence: each verify query of the runbook and the alert's own expression,
over the hour before onset up to now, as series (stored in the bundle, not in history).

Reads Prometheus's ``query_range``. A query Prometheus rejects is noted with its error;
an unreachable Prometheus notes the source as unavailable.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from activities.evidence.found import Found
from activities.evidence.request import EvidenceRequest, Scope

WINDOW = timedelta(hours=1)
POINTS = 240
MAX_SERIES = 5


class PrometheusUnavailable(ConnectionError):
    """Prometheus did not answer (the message names no credentials)."""


async def query_range(http: httpx.AsyncClient, base: str, query: str, start: datetime,
                      end: datetime, timeout: float = 10.0) -> list[dict[str, Any]]:
    """``[{"labels": {…}, "points": [[unix seconds, value], …]}, …]``; raises ValueError
    with Prometheus's error for a bad query, PrometheusUnavailable when it cannot answer."""
    step = max(1.0, (end - start).total_seconds() / POINTS)
    try:
        resp = await http.get(f"{base.rstrip('/')}/api/v1/query_range", timeout=timeout, params={
            "query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
            "step": f"{step:g}"})
    except httpx.HTTPError as exc:
        raise PrometheusUnavailable(f"Prometheus: {type(exc).__name__}") from None
    if resp.status_code >= 500:
        raise PrometheusUnavailable(f"Prometheus: HTTP {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        raise ValueError(f"HTTP {resp.status_code}: not a Prometheus API answer") from None
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType', 'error')}: {body.get('error', '')}")
    return [{"labels": s.get("metric", {}),
             "points": [[float(t), float(v)] for t, v in s.get("values", [])]}
            for s in body["data"].get("result", [])[:MAX_SERIES]]


def describe_series(series: list[dict[str, Any]], onset: datetime) -> str:
    values = [(t, v) for s in series for t, v in s["points"] if not math.isnan(v)]
    if not values:
        return "no samples"
    before = [v for t, v in values if t < onset.timestamp()]
    peak_t, peak = max(values, key=lambda p: p[1])
    base = f"before onset ~{sum(before) / len(before):.3g}, " if before else ""
    return (f"{base}peak {peak:.3g} at {datetime.fromtimestamp(peak_t, UTC):%H:%M:%S} UTC, "
            f"last {values[-1][1]:.3g} ({len(series)} series)")


class SeriesEvidence:
    """The ``metrics`` source."""

    name = "metrics"

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        if not scope.queries:
            return Found("no Prometheus query in the runbook or the alert")
        end = datetime.now(UTC)
        start = min(req.onset, end) - WINDOW
        found, parts = Found(""), []
        for query in scope.queries:
            try:
                series = await query_range(self._http, self._base, query, start, end)
            except ValueError as exc:
                parts.append(f"{query!r}: refused ({str(exc)[:120]})")
                continue
            found.detail.setdefault("series", []).append({"query": query, "series": series})
            parts.append(f"{query!r}: {describe_series(series, req.onset)}")
        found.line = "; ".join(parts)
        return found
