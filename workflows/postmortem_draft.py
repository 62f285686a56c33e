"""The first draft's findings, derived from the incident's record (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from remediator.models.postmortem import ActionItem, PostmortemInput


def duration_text(seconds: float) -> str:
    """``12 s``, ``4.5 min`` or ``2.1 h``: in the unit a reader expects for that length."""
    if seconds < 60:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _went_well(doc: PostmortemInput) -> list[str]:
    kinds = [e.kind for e in doc.timeline]
    found = []
    applied = [e for e in doc.timeline if e.kind == "mitigation.applied"]
    if applied:
        after = duration_text((applied[0].at - doc.opened_at).total_seconds())
        found.append(f"Mitigation applied automatically {after} after the first alert")
    if "verify.passed" in kinds:
        found.append("Recovery verified against the runbook's health criteria")
    if "incident.acknowledged" in kinds:
        found.append("Page acknowledged")
    return found or ["Incident recorded end to end with UTC timestamps"]


def _went_poorly(doc: PostmortemInput) -> list[str]:
    kinds = [e.kind for e in doc.timeline]
    found = []
    if "verify.failed" in kinds:
        found.append("The runbook's mitigation did not restore service")
    if "approval.deadline_passed" in kinds:
        found.append("A risky step waited past its approval deadline")
    if "severity.escalated" in kinds:
        found.append("Severity had to be escalated")
    if any(e.kind in ("mitigation.failed", "mitigation.undo_conflict") for e in doc.timeline):
        found.append("A mitigation step failed or could not be undone cleanly")
    if "runbook.none" in kinds:
        found.append("No runbook matched: no automated mitigation")
    return found


def _action_items(doc: PostmortemInput, due: datetime) -> list[ActionItem]:
    owner = doc.commander or "incident-commander"
    items = [ActionItem(id="AI-1", action="Confirm the root cause and add a regression test",
                        owner=owner, priority="High", due=due)]
    if any(e.kind in ("verify.failed", "runbook.none") for e in doc.timeline):
        items.append(ActionItem(id="AI-2", action="Write or fix the runbook for this alert",
                                owner=owner, priority="High", due=due))
    return items


def draft_findings(doc: PostmortemInput, review_at: datetime, now: datetime,
                   action_due_seconds: float) -> PostmortemInput:
    """The document with derived lessons, default action items and the review date."""
    due = now + timedelta(seconds=action_due_seconds)
    return doc.model_copy(update={
        "went_well": doc.went_well or _went_well(doc),
        "went_poorly": doc.went_poorly or _went_poorly(doc),
        "action_items": doc.action_items or _action_items(doc, due),
        "review_at": review_at,
    })
