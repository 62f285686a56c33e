"""Postmortem: the incident's record becomes the review document, and the review is
followed up: human edits, a review-due reminder, action items with due-date reminders.

It outlives the incident (the parent abandons it on completion): the review is due
48 h (P0/P1) or a week (P2/P3) after resolution, action items later still.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.postmortem_store import PostmortemActivities
    from workflows.announcer import Announcer
    from workflows.comms_models import ActionItem, NewActionItem, PostmortemEdit
    from workflows.models import Phase
    from workflows.options import side_effect
    from workflows.phase_models import PostmortemResult, PostmortemRun
    from workflows.postmortem_draft import draft_findings
    from workflows.timeline import Recorder

POSTMORTEM_DRAFTED = "postmortem_drafted"


@workflow.defn
class PostmortemWorkflow:
    """Timeline → document → reviewed document, with reminders until the review is done."""

    def __init__(self) -> None:
        self._edits: list[PostmortemEdit] = []
        self._markdown = ""
        self._reminded: set[str] = set()
        self._last_editor = "remediator"

    @workflow.run
    async def run(self, inp: PostmortemRun) -> PostmortemResult:
        self._rec = Recorder(Phase.POSTMORTEM)
        self._announcer = Announcer(inp.doc.incident_id, lambda kind, detail: None)
        self._announcer.policy = inp.comms
        self._doc = draft_findings(inp.doc, inp.review_at, workflow.now(),
                                   inp.comms.action_item_due_seconds)
        result = await self._publish("postmortem.written")
        await self._tell_parent(result.markdown)
        self._rec.detach()  # the incident completes now; later entries stay here
        while not self._finished():
            due = self._next_due()
            timeout = None if due is None else max((due - workflow.now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(lambda: bool(self._edits), timeout=timeout)
            except TimeoutError:
                self._remind()
            while self._edits:
                self._apply(self._edits.pop(0))
                result = await self._publish("postmortem.updated")
        await self._announcer.drain()
        return result

    def _finished(self) -> bool:
        return self._doc.reviewed_by is not None and all(
            item.status == "DONE" for item in self._doc.action_items)

    def _next_due(self) -> datetime | None:
        dues = [item.due for item in self._doc.action_items
                if item.status != "DONE" and item.id not in self._reminded]
        if self._doc.reviewed_by is None and "review" not in self._reminded:
            assert self._doc.review_at is not None
            dues.append(self._doc.review_at)
        return min(dues) if dues else None

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

    def _apply(self, edit: PostmortemEdit) -> None:
        doc, changes = self._doc, {}
        for field in ("root_cause", "five_whys", "went_well", "went_poorly", "impact"):
            value = getattr(edit, field)
            if value is not None:
                changes[field] = value
        items = [i.model_copy(update={"status": "DONE"}) if i.id in edit.close_action_items else i
                 for i in doc.action_items]
        items += [self._new_item(len(items) + n, new) for n, new in enumerate(edit.action_items)]
        changes["action_items"] = items
        if edit.review_done:
            changes["reviewed_by"] = edit.by
        self._doc = doc.model_copy(update=changes)
        self._last_editor = edit.by

    def _new_item(self, index: int, new: NewActionItem) -> ActionItem:
        due = new.due or workflow.now() + timedelta(days=7)
        return ActionItem(id=f"AI-{index + 1}", action=new.action, owner=new.owner,
                          priority=new.priority, due=due)

    async def _publish(self, kind: str) -> PostmortemResult:
        result = await workflow.execute_activity_method(
            PostmortemActivities.store_postmortem, self._doc, **side_effect(30))
        self._markdown = result.markdown
        await self._rec.add(kind, f"{result.path} (by {self._last_editor})", live=True)
        return result

    async def _tell_parent(self, markdown: str) -> None:
        parent = workflow.info().parent
        if parent is not None:
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                POSTMORTEM_DRAFTED, markdown)

    @workflow.signal
    def edit(self, edit: PostmortemEdit) -> None:
        """Human input: root cause, five whys, impact, lessons, action items, review done."""
        self._edits.append(edit)

    @workflow.query
    def document(self) -> str:
        """The current Markdown document."""
        return self._markdown

    @workflow.query
    def action_items(self) -> list[ActionItem]:
        return list(self._doc.action_items)


