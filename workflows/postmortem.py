"""Postmortem: the incident's record becomes the review document, and the review is
followed up: human edits, a review-due reminder, action items with due-date reminders.

It outlives the incident (the parent abandons it on completion): the review is due
48 h (P0/P1) or a week (P2/P3) after resolution, action items later still.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from pydantic import Field

    from activities.postmortem.store import PostmortemActivities
    from remediator.models.comms import CommsPolicy
    from remediator.models.contract import Contract
    from remediator.models.incident import Phase, TimelineEntry
    from remediator.models.postmortem import ActionItem, PostmortemInput, PostmortemResult, UtcDateTime
    from workflows.comms.announcer import Announcer
    from workflows.postmortem_draft import draft_findings
    from workflows.support.options import side_effect
    from workflows.support.signals import POSTMORTEM_DRAFTED, POSTMORTEM_WRITTEN
    from workflows.support.timeline import Recorder
    from workflows.support.ui import span


class PostmortemRun(Contract):
    """Input of the postmortem phase: the first draft and how to follow it up."""

    doc: PostmortemInput
    comms: CommsPolicy
    review_at: datetime
    # The incident takes the first draft and this phase's entries in one signal
    # (``postmortem_written``): ~9 history events fewer than ``record`` then
    # ``postmortem_drafted``. Set by incidents of release-2026-12-e, which handle it.
    one_signal: bool = False
    # Stored by the incident (since release-2026-12-n): ``doc`` is that first draft, and
    # the phase follows the review up from it (nothing to send back).
    first_draft: PostmortemResult | None = None
    # The release that started this phase (as in its memo: ``versions.named``). Only for
    # workers of an earlier release, which refuse an unknown field: they never run a
    # phase on paths they do not know.
    release: str | None = None


class FirstDraft(Contract):
    """``postmortem_written``: the first draft, with the entries the phase recorded."""

    markdown: str
    timeline: list[TimelineEntry]


class NewActionItem(Contract):
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=200)
    priority: Literal["High", "Medium", "Low"] = "Medium"
    due: UtcDateTime | None = None


class PostmortemEdit(Contract):
    """Human input to the review: any field left out stays as it is."""

    by: str = Field(min_length=1, max_length=200)
    root_cause: str | None = Field(default=None, max_length=20_000)
    five_whys: list[str] | None = Field(default=None, max_length=10)
    went_well: list[str] | None = None
    went_poorly: list[str] | None = None
    lessons_learned: list[str] | None = Field(default=None, max_length=50)
    impact: str | None = Field(default=None, max_length=20_000)
    action_items: list[NewActionItem] = Field(default_factory=list)
    close_action_items: list[str] = Field(default_factory=list)
    review_done: bool = False


# The longest single wait for a reminder; a later due date is waited for in steps. A
# timer years long (a due date typed as 9999-12-31) would be refused by the server.
LONGEST_WAIT_SECONDS = 365 * 86400.0


def apply_edit(doc: PostmortemInput, edit: PostmortemEdit, now: datetime) -> PostmortemInput:
    """``doc`` with a human's edit applied: fields given replace, new action items are
    numbered on (due in a week unless said), listed ones are closed, the review signed."""
    changes: dict[str, object] = {}
    for field in ("root_cause", "five_whys", "went_well", "went_poorly", "impact",
                  "lessons_learned"):
        value = getattr(edit, field)
        if value is not None:
            changes[field] = value
    items = [i.model_copy(update={"status": "DONE"}) if i.id in edit.close_action_items else i
             for i in doc.action_items]
    items += [ActionItem(id=f"AI-{len(items) + n + 1}", action=new.action, owner=new.owner,
                         priority=new.priority, due=new.due or now + timedelta(days=7))
              for n, new in enumerate(edit.action_items)]
    changes["action_items"] = items
    if edit.review_done:
        changes["reviewed_by"] = edit.by
    return doc.model_copy(update=changes)


def next_due(doc: PostmortemInput, reminded: set[str]) -> datetime | None:
    """When the next reminder is due: an open action item's due date or the review's."""
    dues = [item.due for item in doc.action_items
            if item.status != "DONE" and item.id not in reminded]
    if doc.reviewed_by is None and "review" not in reminded and doc.review_at is not None:
        dues.append(doc.review_at)
    return min(dues) if dues else None


@workflow.defn
class PostmortemWorkflow:
    """Timeline → document → reviewed document, with reminders until the review is done."""

    def __init__(self) -> None:
        self._edits: list[PostmortemEdit] = []
        self._markdown = ""
        self._reminded: set[str] = set()
        self._last_editor = "remediator"
        self._refused: list[str] = []

    @workflow.run
    async def run(self, inp: PostmortemRun) -> PostmortemResult:
        self._rec = Recorder(Phase.POSTMORTEM)
        self._announcer = Announcer(inp.doc.incident_id, lambda kind, detail: None)
        self._announcer.policy = inp.comms
        if inp.first_draft is not None:  # the incident stored it and has it on record
            self._doc, result = inp.doc, inp.first_draft
            self._markdown = result.markdown
        else:
            self._doc = draft_findings(inp.doc, inp.review_at, workflow.now(),
                                       inp.comms.action_item_due_seconds)
            result = await self._publish("postmortem.written", live=not inp.one_signal)
            await self._tell_parent(result.markdown, with_entries=inp.one_signal)
        self._rec.detach()  # the incident completes now; later entries stay here
        while not self._finished():
            due = self._next_due()
            timeout = None if due is None else min(
                max((due - workflow.now()).total_seconds(), 0.001), LONGEST_WAIT_SECONDS)
            try:
                await workflow.wait_condition(
                    lambda: bool(self._edits), timeout=timeout,
                    timeout_summary=None if timeout is None else
                    f"next review reminder in {span(timeout)}")
            except TimeoutError:
                self._remind()
            while self._edits:
                if self._apply(self._edits.pop(0)):
                    result = await self._publish("postmortem.updated")
        await self._announcer.drain()
        return result

    def _finished(self) -> bool:
        return self._doc.reviewed_by is not None and all(
            item.status == "DONE" for item in self._doc.action_items)

    def _next_due(self) -> datetime | None:
        return next_due(self._doc, self._reminded)

    def _remind(self) -> None:
        """Remind through the sinks of everything due by now, once each."""
        now, doc = workflow.now(), self._doc
        if doc.reviewed_by is None and doc.review_at and doc.review_at <= now \
                and "review" not in self._reminded:
            self._reminded.add("review")
            self._announcer.announce("review_reminder", f"Post-incident review due: {doc.title}",
                                     f"The review of {doc.incident_id} is due "
                                     f"({doc.review_at:%Y-%m-%d %H:%M} UTC).", doc.severity)
        for item in doc.action_items:
            if item.status != "DONE" and item.due <= now and item.id not in self._reminded:
                self._reminded.add(item.id)
                self._announcer.announce("action_item_due", f"Action item due: {item.action}",
                                         f"{item.id} ({item.priority}) owned by {item.owner} "
                                         f"was due {item.due:%Y-%m-%d %H:%M} UTC.", doc.severity)

    def _apply(self, edit: PostmortemEdit) -> bool:
        """Apply an edit; one the document cannot take is refused and recorded instead
        of failing the workflow task (which would retry, and fail, forever)."""
        try:
            now = workflow.now()
            doc = apply_edit(self._doc, edit, now)
            # The comparisons the reminders will make, tried before the edit is taken.
            next_due(doc, set())
            _ = [item.due <= now for item in doc.action_items]
        except (TypeError, ValueError, OverflowError) as exc:
            self._refuse(f"edit by {edit.by} refused: {exc}")
            return False
        self._doc, self._last_editor = doc, edit.by
        return True

    def _refuse(self, why: str) -> None:
        self._refused.append(why[:500])
        del self._refused[:-20]  # the latest refusals; a flood does not grow the state
        workflow.logger.warning("postmortem.edit_refused", extra={"reason": why[:500]})

    async def _publish(self, kind: str, live: bool = True) -> PostmortemResult:
        result = await workflow.execute_activity_method(
            PostmortemActivities.store_postmortem, self._doc, **side_effect(30),
            summary=f"store the postmortem ({kind})")
        self._markdown = result.markdown
        await self._rec.add(kind, f"{result.path} (by {self._last_editor})", live=live)
        return result

    async def _tell_parent(self, markdown: str, with_entries: bool) -> None:
        parent = workflow.info().parent
        if parent is None:
            return
        incident = workflow.get_external_workflow_handle(parent.workflow_id)
        if with_entries:
            await incident.signal(POSTMORTEM_WRITTEN,
                                  FirstDraft(markdown=markdown, timeline=self._rec.take()))
        else:
            await incident.signal(POSTMORTEM_DRAFTED, markdown)

    @workflow.signal
    def edit(self, raw: RawValue) -> None:
        """Human input: root cause, five whys, impact, lessons, action items, review done
        (a PostmortemEdit). A payload that is not one is refused and recorded, not dropped."""
        try:
            edit = workflow.payload_converter().from_payload(raw.payload, PostmortemEdit)
        except Exception as exc:  # whatever the converter raises for a foreign payload
            self._refuse(f"malformed edit refused: {str(exc)[:300]}")
            return
        self._edits.append(edit)

    @workflow.query
    def refused_edits(self) -> list[str]:
        """Why the latest refused edits were refused (at most 20)."""
        return list(self._refused)

    @workflow.query
    def document(self) -> str:
        """The current Markdown document."""
        return self._markdown

    @workflow.query
    def action_items(self) -> list[ActionItem]:
        return list(self._doc.action_items)


