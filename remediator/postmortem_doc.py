"""The postmortem document, rendered from the incident's record (seed 04's PIR template)."""

from __future__ import annotations

from datetime import datetime, timedelta

from remediator.models.postmortem import PostmortemInput
from remediator.severity import TABLE

TODO = "_To be completed by the incident owner (`remediator postmortem ID --edit`)._"


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def _summary(doc: PostmortemInput) -> list[str]:
    applied = [s for s in doc.steps if s.state in ("applied", "undone", "undo_conflict")]
    actions = ", ".join(f"{s.action} ({s.step_id})" for s in applied) or "no mitigation"
    verdict = "unknown"
    if doc.verdict is not None:
        verdict = "recovered" if doc.verdict.passed else "did not recover"
    firing = len([a for a in doc.alerts if a.status == "firing"])
    return [
        f"{doc.title} on service `{doc.service}` ({doc.severity}, {TABLE[doc.severity].sev}). "
        f"{firing} firing alert(s) opened the incident at {_utc(doc.opened_at)}.",
        "",
        f"Mitigation applied: {actions}. Verification: {verdict}. Final status: {doc.status}.",
    ]


def _timeline(doc: PostmortemInput) -> list[str]:
    rows = ["| Time (UTC) | Phase | Event | Detail |", "|---|---|---|---|"]
    for e in sorted(doc.timeline, key=lambda e: e.at):
        detail = e.detail.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {_utc(e.at)} | {e.phase or ''} | {e.kind} | {detail} |")
    return rows


def _impact(doc: PostmortemInput) -> list[str]:
    names = sorted({a.name for a in doc.alerts})
    return [
        f"- Service: `{doc.service}`",
        f"- Duration: {_duration(doc.closed_at - doc.opened_at)}"
        f" ({_utc(doc.opened_at)} → {_utc(doc.closed_at)})",
        f"- Alerts: {', '.join(names)}",
        "- Users affected / revenue / SLA / data impact: " + (doc.impact or TODO),
    ]


def _bullets(items: list[str]) -> list[str]:
    return [f"- {item}" for item in items] or [TODO]


def _numbered(items: list[str]) -> list[str]:
    return [f"{i}. {item}" for i, item in enumerate(items, start=1)] or [TODO]


def _resolution(doc: PostmortemInput) -> list[str]:
    lines = [f"- `{s.step_id}` ({s.action}, risk {s.risk}): {s.state} — {s.detail}"
             for s in doc.steps]
    if doc.verdict is not None:
        lines.append(f"- Verification: {'passed' if doc.verdict.passed else 'failed'} — "
                     f"{doc.verdict.detail}")
    return lines or ["- No mitigation steps ran."]


def _whys(doc: PostmortemInput) -> list[str]:
    if not doc.five_whys:
        return [f"{i}. **Why**? {TODO}" for i in range(1, 6)]
    return [f"{i}. {why}" for i, why in enumerate(doc.five_whys, start=1)]


def _action_items(doc: PostmortemInput) -> list[str]:
    rows = ["| ID | Action | Owner | Priority | Due Date | Status |", "|---|---|---|---|---|---|"]
    for item in doc.action_items:
        rows.append(f"| {item.id} | {item.action} | @{item.owner.lstrip('@')} | {item.priority} "
                    f"| {item.due:%Y-%m-%d} | {item.status} |")
    return rows


def _evidence(doc: PostmortemInput, chart: str | None) -> list[str]:
    """Seed 04's investigation, as collected at incident start, and the metric chart."""
    ev = doc.evidence
    if ev is None:
        return ["No evidence bundle was collected for this incident."]
    lines = [f"**Suspect change**: {ev.suspect_line()}", "",
             f"Collected {_utc(ev.collected_at)} (onset {_utc(ev.onset)}):", ""]
    lines += [f"- {s.line()}" for s in ev.sources]
    if ev.changes:
        lines += ["", "Changes around onset (most suspect first):", ""]
        lines += [f"- {c.describe(ev.onset)}" + (" _(remediator)_" if c.by_remediator else "")
                  for c in ev.changes]
    if ev.artefact:
        lines += ["", f"Full bundle: `{ev.artefact}`"]
    if chart:
        what = ev.main_query or "main metric"
        lines += ["", f"![{what}: onset, mitigations, verify window, resolution]({chart})"]
    return lines


def render_postmortem(doc: PostmortemInput, chart: str | None = None) -> str:
    """The whole Markdown document; deterministic for a given input. ``chart``: the
    metric chart's link, relative to the document."""
    duration = _duration(doc.closed_at - doc.opened_at)
    parts: list[list[str]] = [
        [f"# Post-Incident Review: {doc.title}", "",
         f"**Incident**: {doc.incident_id} | **Date**: {doc.opened_at:%Y-%m-%d} | "
         f"**Severity**: {doc.severity} ({TABLE[doc.severity].sev}) | **Duration**: {duration} "
         "| **Author**: remediator",
         "",
         f"**Review due**: {_utc(doc.review_at) if doc.review_at else 'to be scheduled'} | "
         f"**Reviewed by**: {doc.reviewed_by or 'not yet reviewed'}"],
        ["## Summary", "", *_summary(doc)],
        ["## Timeline (UTC)", "", *_timeline(doc)],
        ["## Impact", "", *_impact(doc)],
        ["## Evidence", "", *_evidence(doc, chart)],
        ["## Resolution", "", *_resolution(doc)],
        ["## Root Cause", "", doc.root_cause or TODO],
        ["## Five Whys", "", *_whys(doc)],
        ["## What Went Well", "", *_bullets(doc.went_well)],
        ["## What Went Poorly", "", *_bullets(doc.went_poorly)],
        ["## Action Items", "", *_action_items(doc)],
        ["## Lessons Learned", "", *_numbered(doc.lessons_learned)],
    ]
    return "\n\n".join("\n".join(p) for p in parts) + "\n"
