"""Search attributes that make incidents findable in the Temporal UI and visibility."""

from __future__ import annotations

from typing import ClassVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

PHASE = SearchAttributeKey.for_keyword("RemediatorPhase")
SEVERITY = SearchAttributeKey.for_keyword("RemediatorSeverity")
STATUS = SearchAttributeKey.for_keyword("RemediatorStatus")
SERVICE = SearchAttributeKey.for_keyword("RemediatorService")

ALL = (PHASE, SEVERITY, STATUS, SERVICE)


class SearchAttributes:
    """The incident's keyword attributes, upserted only when one changes (each upsert is
    a history event and a visibility write on the server)."""

    _KEYS: ClassVar[dict[str, SearchAttributeKey[str]]] = {
        "phase": PHASE, "severity": SEVERITY, "status": STATUS, "service": SERVICE}

    def __init__(self, **known: str | None) -> None:
        """``known``: values already indexed (set at start, or carried by continue-as-new)."""
        self._current: dict[str, str] = {k: str(v) for k, v in known.items() if v is not None}

    def update(self, **values: str | None) -> None:
        changed = {name: str(value) for name, value in values.items()
                   if value is not None and self._current.get(name) != str(value)}
        if changed:
            self._current.update(changed)
            workflow.upsert_search_attributes(
                [self._KEYS[name].value_set(value) for name, value in changed.items()])


def at_open() -> TypedSearchAttributes:
    """What a new incident is indexed under before its workflow runs."""
    return TypedSearchAttributes([SearchAttributePair(PHASE, "detect"),
                                  SearchAttributePair(STATUS, "open")])
