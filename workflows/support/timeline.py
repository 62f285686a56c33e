"""Timeline bookkeeping for phase workflows.

A phase records as it goes and sends its entries to the parent incident in batches:
at once (``live=True``, one signal) before anything that may wait a long time — a
verify window, an approval, a long mitigation — so ``status`` shows progress live, and
otherwise with its result when the phase ends (no signal at all). Every signal costs
the Temporal server history events and workflow tasks on both sides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import Field
from temporalio import workflow

from workflows.support.versions import patched

with workflow.unsafe.imports_passed_through():
    from remediator.models.contract import Contract
    from remediator.models.incident import Phase, TimelineEntry
    from workflows.support.signals import RECORD

# Results of phases recorded before this patch were preceded by a signal with their
# last entries; since, the entries travel in the result (no signal, no workflow task).
TIMELINE_IN_RESULT = "timeline-in-result"


# Entries are sent live only before a wait at least this long; shorter phases deliver
# them with their result. Recorded before this patch, every such entry was sent live.
LIVE_WAIT_SECONDS = 30.0
LIVE_ONLY_BEFORE_LONG_WAITS = "live-only-before-long-waits"


def before_wait(seconds: float) -> bool:
    """Whether what was recorded is worth a signal now, before a wait of ``seconds``."""
    if not patched(LIVE_ONLY_BEFORE_LONG_WAITS):
        return True
    return seconds >= LIVE_WAIT_SECONDS


class PhaseResult(Contract):
    """What every phase returns besides its own result: the timeline entries it
    recorded and had not sent yet (the parent adds them as the phase completes)."""

    timeline: list[TimelineEntry] = Field(default_factory=list)


T = TypeVar("T", bound=PhaseResult)


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

    def take(self) -> list[TimelineEntry]:
        """The entries not yet sent, for a signal of the phase's own to carry."""
        batch, self._unsent = self._unsent, []
        return batch

    async def flush(self) -> None:
        """Deliver the entries not yet sent (delivered before the phase completes)."""
        parent = workflow.info().parent
        if parent is None or not self._attached or not self._unsent:
            self._unsent.clear()
            return
        batch, self._unsent = self._unsent, []
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(RECORD, batch)

    async def around(self, body: Callable[[], Awaitable[T]]) -> T:
        """Run a phase's body; what it recorded and did not send yet goes with its
        result (or, should it fail, in a last signal)."""
        try:
            result = await body()
        except GeneratorExit:  # evicted from the worker's cache: nothing ends, nothing to send
            raise
        except BaseException:
            await self.flush()
            raise
        if patched(TIMELINE_IN_RESULT) and workflow.info().parent is not None:
            result.timeline, self._unsent = self._unsent, []
        else:
            await self.flush()
        return result
