"""Search attributes that make incidents findable in the Temporal UI and visibility."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey

PHASE = SearchAttributeKey.for_keyword("RemediatorPhase")
SEVERITY = SearchAttributeKey.for_keyword("RemediatorSeverity")
STATUS = SearchAttributeKey.for_keyword("RemediatorStatus")
SERVICE = SearchAttributeKey.for_keyword("RemediatorService")

ALL = (PHASE, SEVERITY, STATUS, SERVICE)


def upsert(**values: str | None) -> None:
    """Upsert the given keyword attributes (by short name: phase, severity, …)."""
    keys = {"phase": PHASE, "severity": SEVERITY, "status": STATUS, "service": SERVICE}
    workflow.upsert_search_attributes(
        [keys[name].value_set(value) for name, value in values.items() if value is not None]
    )
