"""Timeline bookkeeping for phase workflows.

A phase records as it goes and sends its entries to the parent incident in batches:
at once (``live=True``) before anything that may wait a long time — a verify window,
an approval, a mitigation in flight — so ``status`` shows progress live, and
otherwise when the phase ends. Each batch is one signal: fewer history events and
workflow tasks than a signal per entry, which the Temporal server pays for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.incident import Phase, TimelineEntry
    from workflows.support.signals import RECORD

T = TypeVar("T")


class Recorder:
    def __init__(self, phase: Phase) -> None:
        self.phase = phase
        self.entries: list[TimelineEntry] = []
        self._unsent: list[TimelineEntry] = []
        self._attached = True

    def detach(self) -> None:
        """Stop signalling the parent (it may have completed)."""
        self._attached = False

    async def add(self, kind: str, detail: str, live: bool = False) -> TimelineEntry:
        entry = self.note(kind, detail)
        if live:
            await self.flush()
        return entry

    def note(self, kind: str, detail: str) -> TimelineEntry:
        """Record without sending yet (for signal handlers that may not wait)."""
        entry = TimelineEntry(at=workflow.now(), kind=kind, detail=detail, phase=self.phase)
        self.entries.append(entry)
        self._unsent.append(entry)
        return entry

    async def flush(self) -> None:
        """Deliver the entries not yet sent (delivered before the phase completes)."""
        parent = workflow.info().parent
        if parent is None or not self._attached or not self._unsent:
            self._unsent.clear()
            return
        batch, self._unsent = self._unsent, []
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(RECORD, batch)

    async def around(self, body: Callable[[], Awaitable[T]]) -> T:
        """Run a phase's body and send whatever it recorded when it ends."""
        try:
            result = await body()
        except GeneratorExit:  # evicted from the worker's cache: nothing ends, nothing to send
            raise
        except BaseException:
            await self.flush()
            raise
        await self.flush()
        return result
