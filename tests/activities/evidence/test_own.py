"""The ``remediator`` source asks the guard once for every triage that asks meanwhile:
a burst of incidents no longer overflows the guard's query buffer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.evidence.own import OwnActionsEvidence
from activities.evidence.request import EvidenceRequest, Scope

NOW = datetime.now(UTC)


class Guard:
    """Stands in for the Temporal client and the guard's query (not what is tested):
    counts the queries and answers each once released."""

    def __init__(self) -> None:
        self.queries = 0
        self.answer = asyncio.Event()
        self.applied: dict[str, Any] = {}

    def get_workflow_handle(self, workflow_id: str) -> Guard:
        return self

    async def query(self, name: str) -> dict[str, Any]:
        self.queries += 1
        await self.answer.wait()
        return {"applied": dict(self.applied)}


def _request(n: int) -> EvidenceRequest:
    return EvidenceRequest(incident_id=f"INC-2099-{n:04d}", occurrence="o", service="shop",
                           onset=NOW)


def _applied(incident: str) -> dict[str, Any]:
    return {"at": (NOW - timedelta(minutes=5)).isoformat(), "target": "flag:checkout@prod",
            "action": "feature_flag.set", "incident_id": incident}


async def test_concurrent_triages_share_one_query_and_a_later_one_asks_afresh() -> None:
    guard = Guard()
    guard.applied = {"a": _applied("INC-2099-0999")}
    source = OwnActionsEvidence(guard, "guard")  # type: ignore[arg-type]
    scope = Scope(targets={"flag:checkout@prod"})
    waiting = [asyncio.create_task(source.collect(_request(n), scope)) for n in range(20)]
    await asyncio.sleep(0)
    waiting[0].cancel()  # an activity cancelled mid-query does not cancel the others'
    guard.answer.set()
    found = await asyncio.gather(*waiting[1:])
    assert guard.queries == 1
    assert all(len(f.changes) == 1 for f in found)

    guard.applied["b"] = _applied("INC-2099-0998")  # a change after that answer is seen
    later = await source.collect(_request(21), scope)
    assert guard.queries == 2 and len(later.changes) == 2
