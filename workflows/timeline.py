"""Timeline bookkeeping for phase workflows.

A phase records as it goes: each entry is signalled to the parent incident so
``status`` shows progress live (a verify window can last half an hour), and is
kept locally for a phase run on its own.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.models import Phase, TimelineEntry

RECORD_SIGNAL = "record"


class Recorder:
    def __init__(self, phase: Phase) -> None:
        self.phase = phase
        self.entries: list[TimelineEntry] = []
        self._attached = True

    def detach(self) -> None:
        """Stop signalling the parent (it may have completed)."""
        self._attached = False

    async def add(self, kind: str, detail: str) -> TimelineEntry:
        entry = TimelineEntry(at=workflow.now(), kind=kind, detail=detail, phase=self.phase)
        self.entries.append(entry)
        parent = workflow.info().parent
        if parent is not None and self._attached:
            handle = workflow.get_external_workflow_handle(parent.workflow_id)
            await handle.signal(RECORD_SIGNAL, entry)
        return entry
