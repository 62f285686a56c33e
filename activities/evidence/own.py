"""Remediator's own actions on the same targets within 24 h, from the guard's cooldown
records (the last application of each action on each target, and by which incident).

Flag flips remediator made are also in the flag sources, rollbacks in the rollout
history (their change-cause names the incident step); this source adds every other
action the guard saw.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.evidence.found import Found
from activities.evidence.request import EvidenceRequest, Scope
from activities.evidence.suspect import LOOKBACK, relation
from remediator.models.evidence import Change
from remediator.models.guard import STATUS


def own_changes(applied: list[dict[str, Any]], req: EvidenceRequest, scope: Scope) -> list[Change]:
    """The guard's ``applied`` records on the incident's targets (or related ones)."""
    since, related = req.onset - LOOKBACK, {req.service, *scope.namespaces}
    found = []
    for a in applied:
        at = datetime.fromisoformat(str(a["at"]).replace("Z", "+00:00"))
        target = str(a["target"])
        rel = relation(target, scope.targets, related)
        if at < since or rel == 0 or a.get("incident_id") == req.incident_id:
            continue
        found.append(Change(at=at, kind="remediator", target=target, by_remediator=True,
                            summary=f"remediator {a['action']} on {target} ({a['incident_id']})",
                            relation=rel))
    return found


class OwnActionsEvidence:
    """The ``remediator`` source."""

    name = "remediator"

    def __init__(self, client: Client, guard_workflow_id: str) -> None:
        self._client = client
        self._guard = guard_workflow_id
        self._asking: asyncio.Task[Any] | None = None

    async def _state(self) -> Any:
        """The guard's state: one query at a time per worker, its answer shared by every
        triage that asked while it was in flight (shielded: a cancelled caller does not
        cancel it). In a burst, one query per incident (200 at once) overflowed the
        guard's query buffer ("consistent query buffer is full") and left the source
        unavailable."""
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(
                self._client.get_workflow_handle(self._guard).query(STATUS))
        return await asyncio.shield(self._asking)

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        try:
            state = await self._state()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return Found("the guard has no records (never started)")
            raise
        applied = list((state or {}).get("applied", {}).values())
        changes = own_changes(applied, req, scope)
        return Found(f"{len(changes)} action(s) of remediator on these targets in 24 h",
                     changes=changes)
