"""Search attributes that make incidents findable in the Temporal UI and visibility."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from temporalio import workflow
from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

from workflows.support.versions import patched

PHASE = SearchAttributeKey.for_keyword("RemediatorPhase")
SEVERITY = SearchAttributeKey.for_keyword("RemediatorSeverity")
STATUS = SearchAttributeKey.for_keyword("RemediatorStatus")
SERVICE = SearchAttributeKey.for_keyword("RemediatorService")
# The incident's title (Text: the list filters by words of it) and its runbook.
TITLE = SearchAttributeKey.for_text("RemediatorTitle")
RUNBOOK = SearchAttributeKey.for_keyword("RemediatorRunbook")

ALL = (PHASE, SEVERITY, STATUS, SERVICE, TITLE, RUNBOOK)
# Incidents recorded before the title and runbook were indexed upsert neither.
UI_PATCH = "ui-search-attributes"
UI_RELEASE = "release-2026-12-b"



def dev_server_type(key: SearchAttributeKey[str]) -> str:
    """The type name ``temporal server start-dev --search-attribute NAME=TYPE`` takes."""
    return "Text" if key.indexed_value_type == SearchAttributeIndexedValueType.TEXT else "Keyword"


# Temporal refuses a search-attribute value over 2,048 bytes by *terminating* the
# workflow, and SQL visibility stores a keyword in VARCHAR(255): every value is cut to
# fit both, on a character boundary. The incident's own state keeps the whole value.
MAX_CHARS = 255
MAX_BYTES = 1024
BOUNDED_PATCH = "search-attributes-bounded"


def bounded(value: str, max_chars: int = MAX_CHARS, max_bytes: int = MAX_BYTES) -> str:
    """``value`` cut to at most ``max_chars`` characters and ``max_bytes`` UTF-8 bytes,
    never inside a character (and never leaving a lone surrogate to fail encoding)."""
    cut = value[:max_chars].encode("utf-8", "replace")[:max_bytes]
    return cut.decode("utf-8", "ignore")


# Since this release the changes made in one workflow task go out as one upsert, and
# what the incident was started with is not upserted again.
BATCHED_PATCH = "search-attributes-batched"
BATCHED_RELEASE = "release-2026-12-f"
# Since this release the batch goes out when nothing else in the task is left to run, not
# as soon as the code yields: two results arriving in one activation (triage's and the
# evidence's) let the incident yield between two changes, and each half went out alone.
AT_TASK_END_PATCH = "search-attributes-at-task-end"
AT_TASK_END_RELEASE = "release-2026-12-j"


class SearchAttributes:
    """The incident's keyword attributes, upserted only when one changes (each upsert is
    a history event and a visibility write on the server): every change made while the
    workflow's code runs for one task goes out in a single upsert, once that code yields."""

    _KEYS: ClassVar[dict[str, SearchAttributeKey[str]]] = {
        "phase": PHASE, "severity": SEVERITY, "status": STATUS, "service": SERVICE,
        "title": TITLE, "runbook": RUNBOOK}

    def __init__(self, **known: str | None) -> None:
        """``known``: values already indexed (carried by continue-as-new); with none, what
        the execution was started with."""
        self._current: dict[str, str] = {k: str(v) for k, v in known.items() if v is not None}
        self._from_start = not self._current
        self._batched: bool | None = None  # decided at the first change (a patch)
        self._at_task_end = False
        self._pending: dict[str, str] = {}
        # The scheduled flush's ticket (0: none scheduled). The workflow's event loop runs
        # a cancelled handle all the same, so a flush done meanwhile voids it this way.
        self._ticket = 0
        self._tickets = 0
        self._held = False

    def update(self, **values: str | None) -> None:
        self._decide()
        changed = {name: self._fit(str(value)) for name, value in values.items()
                   if value is not None and self._current.get(name) != str(value)}
        if not changed:
            return
        self._current.update({name: str(values[name]) for name in changed})
        if not self._batched:
            self._upsert(changed)
            return
        self._pending.update(changed)
        if not self._ticket and not self._held:
            self._schedule()

    def hold(self) -> None:
        """Changes wait for ``release`` (or a ``flush``), even past the end of this task."""
        self._held = True
        self._ticket = 0  # a flush already scheduled in this task is void

    def release(self) -> None:
        """Changes held go out at the end of this task, with the task's own."""
        self._held = False
        if self._pending and not self._ticket:
            self._schedule()

    def _schedule(self) -> None:
        """After the code now running yields, in this same task."""
        self._tickets += 1
        self._ticket = self._tickets
        asyncio.get_running_loop().call_soon(self._flush_when_idle, self._ticket)

    def _flush_when_idle(self, ticket: int) -> None:
        """The batch goes out once the task's other ready code has run (which may add to
        it): the workflow's event loop runs its ready callbacks in order, so going to the
        back of the queue until it is alone puts the upsert after them, deterministically."""
        if ticket != self._ticket:  # flushed meanwhile
            return
        if self._at_task_end and _ready(asyncio.get_running_loop()):
            asyncio.get_running_loop().call_soon(self._flush_when_idle, ticket)
            return
        self.flush()

    def flush(self) -> None:
        """Upsert what changed now (before the workflow completes: nothing may follow)."""
        self._ticket = 0
        pending, self._pending = self._pending, {}
        if pending:
            self._upsert(pending)

    def _upsert(self, changed: dict[str, str]) -> None:
        workflow.upsert_search_attributes(
            [self._KEYS[name].value_set(value) for name, value in changed.items()])

    def _decide(self) -> None:
        if self._batched is not None:
            return
        self._batched = patched(BATCHED_PATCH, since=BATCHED_RELEASE)
        self._at_task_end = self._batched and patched(AT_TASK_END_PATCH, since=AT_TASK_END_RELEASE)
        if self._batched and self._from_start:  # indexed at start: no upsert needed
            started = workflow.info().typed_search_attributes
            for name, key in self._KEYS.items():
                value = started.get(key)
                if value is not None:
                    self._current.setdefault(name, value)

    @staticmethod
    def _fit(value: str) -> str:
        # Patched only where cutting changes the value, so that histories with short
        # values replay unchanged and an old one holding a long value replays it whole.
        fitted = bounded(value)
        if fitted != value and patched(BOUNDED_PATCH):
            return fitted
        return value


def _ready(loop: asyncio.AbstractEventLoop) -> int:
    """How many callbacks the workflow's event loop has ready to run. The SDK keeps them
    in ``_ready`` (as asyncio's own loops do) and has no public count; without it the
    workflow task fails loudly rather than take another command order."""
    ready = getattr(loop, "_ready", None)
    if ready is None:
        raise RuntimeError("the workflow event loop has no ready queue (_ready): "
                           "search attributes cannot be batched to the task's end")
    return len(ready)


def at_open() -> TypedSearchAttributes:
    """What a new incident is indexed under before its workflow runs."""
    return TypedSearchAttributes([SearchAttributePair(PHASE, "detect"),
                                  SearchAttributePair(STATUS, "open")])
