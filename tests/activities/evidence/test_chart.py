"""The postmortem's chart and Evidence section: a real PNG of the main metric from a
real Prometheus, its marks at the incident's times, linked from the Markdown."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from activities.evidence.chart import ChartMaker, chart_name
from activities.evidence.store import ArtefactStore
from activities.postmortem.store import PostmortemActivities
from remediator.models.alert import Alert
from remediator.models.evidence import Change, EvidenceSummary, SourceNote
from remediator.models.incident import IncidentStatus, TimelineEntry
from remediator.models.postmortem import PostmortemInput
from remediator.postmortem_doc import render_postmortem
from remediator.severity import Severity
from tests.support.polling import eventually
from tests.support.prometheus import MetricsExporter, PrometheusServer

PNG = b"\x89PNG\r\n\x1a\n"


def _doc(case: str, onset: datetime, query: str | None) -> PostmortemInput:
    at = [onset + timedelta(seconds=s) for s in (0, 2, 3, 4, 6, 7)]
    evidence = EvidenceSummary(
        onset=onset, collected_at=at[1], main_query=query, artefact=f"/tmp/{case}-evidence.json",
        sources=[SourceNote(source="kubernetes", ok=True, detail="production/checkout failed"),
                 SourceNote(source="postgres", ok=False, detail="database 'orders' is not configured")],
        changes=[Change(at=onset - timedelta(minutes=3), kind="rollout",
                        target="kubernetes:production/checkout", relation=2,
                        summary="production/checkout rolled out checkout:broken-1.5.0 (revision 2)")])
    evidence.suspect = evidence.changes[0]
    timeline = [TimelineEntry(at=at[2], kind="mitigation.applied", detail="rollback: rolled back"),
                TimelineEntry(at=at[3], kind="verify.window_started", detail="4 s"),
                TimelineEntry(at=at[4], kind="verify.passed", detail="healthy"),
                TimelineEntry(at=at[5], kind="incident.resolved", detail="all alerts resolved")]
    alert = Alert(source="alertmanager", name="CheckoutErrors", fingerprint=case,
                  starts_at=onset, received_at=onset)
    return PostmortemInput(
        incident_id=f"INC-{case}", title="Checkout errors", service="checkout",
        severity=Severity.P2, status=IncidentStatus.RESOLVED, opened_at=onset,
        closed_at=at[5], alerts=[alert], steps=[], verdict=None, timeline=timeline,
        evidence=evidence)


def _png_text(png: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG."""
    found, pos = {}, 8
    while pos < len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = data.partition(b"\0")
            found[key.decode()] = value.decode("latin-1")
        pos += 12 + length
    return found


async def test_the_chart_marks_onset_mitigation_verify_window_and_resolution(
    evidence_prometheus: PrometheusServer, evidence_exporter: MetricsExporter, tmp_path: Path,
) -> None:
    case = uuid.uuid4().hex[:8]
    evidence_exporter.set("evidence_latency", 0.2, case=case)
    query = f'max(evidence_latency{{case="{case}"}})'
    await eventually(lambda: evidence_prometheus.value(query), timeout=20, what="a sample")
    onset = datetime.now(UTC).replace(microsecond=0)
    doc = _doc(case, onset, query)
    async with httpx.AsyncClient() as http:
        store = PostmortemActivities(tmp_path, charts=ChartMaker(
            http, evidence_prometheus.url, ArtefactStore(tmp_path)))
        result = await store.store_postmortem(doc)

    png = (tmp_path / chart_name(doc.incident_id)).read_bytes()
    assert png.startswith(PNG) and 10_000 < len(png) < 500_000
    marks = json.loads(_png_text(png)["Description"])
    assert [(m["kind"], datetime.fromisoformat(m["at"])) for m in marks] == [
        ("onset", onset), ("mitigation", doc.timeline[0].at),
        ("verify_start", doc.timeline[1].at), ("verify_end", doc.timeline[2].at),
        ("resolved", doc.timeline[3].at)]
    assert f"]({chart_name(doc.incident_id)})" in result.markdown


def test_the_postmortem_has_an_evidence_section_with_the_suspect() -> None:
    onset = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
    markdown = render_postmortem(_doc("abc", onset, "sum(up)"), chart="INC-abc-metric.png")
    section = markdown.split("## Evidence", 1)[1].split("\n## ", 1)[0]
    assert ("**Suspect change**: production/checkout rolled out checkout:broken-1.5.0 "
            "(revision 2) at 10:02 UTC, 3 min before onset") in section
    assert "- kubernetes: production/checkout failed" in section
    assert "- postgres: unavailable (database 'orders' is not configured)" in section
    assert "Full bundle: `/tmp/abc-evidence.json`" in section
    assert "![sum(up): onset, mitigations, verify window, resolution](INC-abc-metric.png)" in section
    without = render_postmortem(_doc("abc", onset, None).model_copy(update={"evidence": None}))
    assert "No evidence bundle was collected" in without


async def test_no_chart_without_a_metric_and_none_from_an_unreachable_prometheus(
    tmp_path: Path,
) -> None:
    onset = datetime.now(UTC)
    async with httpx.AsyncClient() as http:
        maker = ChartMaker(http, "http://127.0.0.1:9", ArtefactStore(tmp_path))
        assert await maker.chart(_doc("none", onset, None)) is None
        # Prometheus away and no stored bundle: an empty chart with the marks still.
        name = await maker.chart(_doc("away", onset, "sum(up)"))
    assert name == chart_name("INC-away") and (tmp_path / name).read_bytes().startswith(PNG)
