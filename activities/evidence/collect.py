"""The evidence bundle at incident start: every source read at once, within a budget.

Each source is optional and fails softly: a source that is not configured, refuses,
cannot be reached, or is still busy when the budget runs out is one line in the
summary ("unavailable (…)"), never an error of the activity. The full bundle is stored
beside the postmortem; the activity returns its summary (a few KB) and records, per
Deployment, the suspect rollout and the one before it, for ``to_revision: before_suspect``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog
from temporalio import activity

from activities.evidence.found import Found
from activities.evidence.recorded import recorded_suspects
from activities.evidence.request import EvidenceRequest, Scope, scope_of
from activities.evidence.store import ArtefactStore
from activities.evidence.suspect import rank, top_suspect
from activities.support.crash_points import CrashPoints
from activities.support.errors import MitigationRefused
from remediator.models.evidence import CARRIED_CHANGES, EvidenceSummary, SourceNote

log = structlog.get_logger()


class Source(Protocol):
    name: str

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found: ...


def bundle_name(incident_id: str) -> str:
    return f"{incident_id}-evidence.json"


def failure_line(exc: BaseException) -> str:
    """One line for a source that failed: its refusal, or the error's type and message."""
    text = str(exc) if isinstance(exc, MitigationRefused) else f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [type(exc).__name__])[0][:300]


class EvidenceActivities:
    """``collect_evidence``: read-only, safe to repeat (one bundle per incident)."""

    def __init__(self, sources: Sequence[Source], state: aioredis.Redis, store: ArtefactStore,
                 budget_seconds: float, crash: CrashPoints | None = None) -> None:
        self._sources = list(sources)
        self._state = state
        self._store = store
        self._budget = budget_seconds
        self._crash = crash or CrashPoints(None)

    async def _gather(self, req: EvidenceRequest, scope: Scope) -> dict[str, Found | str]:
        """Each source's Found, or the line saying why there is none."""
        tasks = {s.name: asyncio.create_task(s.collect(req, scope)) for s in self._sources}
        _, late = await asyncio.wait(tasks.values(), timeout=self._budget)
        for task in late:
            task.cancel()
        answers: dict[str, Found | str] = {}
        for name, task in tasks.items():
            if task in late:
                answers[name] = f"no answer within the {self._budget:g} s budget"
            elif (exc := task.exception()) is not None:
                answers[name] = failure_line(exc)
            else:
                answers[name] = task.result()
        return answers

    @activity.defn
    async def collect_evidence(self, req: EvidenceRequest) -> EvidenceSummary:
        """Deployments and rollouts, pods, events, metric series, flag and parameter
        changes, Lambda and ASG changes, database sessions and locks, remediator's own
        actions — whatever answers within the budget; the suspect change ranked first."""
        scope = scope_of(req)
        answers = await self._gather(req, scope)
        notes, changes, detail, found_suspects = [], [], {}, {}
        for name, answer in answers.items():
            if isinstance(answer, str):
                notes.append(SourceNote(source=name, ok=False, detail=answer[:500]))
                log.info("evidence.source_unavailable", source=name, reason=answer)
                continue
            notes.append(SourceNote(source=name, ok=True, detail=answer.short or "nothing found"))
            changes += answer.changes
            detail[name] = answer.detail
            found_suspects.update(answer.suspects)
        ranked = rank(changes, req.onset)
        await recorded_suspects(self._state).put(req.occurrence, found_suspects)
        self._crash.reach("evidence.collect_evidence.collected")  # nothing stored yet
        summary = EvidenceSummary(
            onset=req.onset, collected_at=datetime.now(UTC), sources=notes,
            changes=ranked[:CARRIED_CHANGES], suspect=top_suspect(changes, req.onset),
            main_query=scope.queries[0] if scope.queries else None)
        summary.artefact = await self._keep(req, summary, ranked, detail, found_suspects)
        self._crash.reach("evidence.collect_evidence.after_store")  # stored, not yet returned
        return summary

    async def _keep(self, req: EvidenceRequest, summary: EvidenceSummary, ranked: list[Any],
                    detail: dict[str, Any], found_suspects: dict[str, Any]) -> str | None:
        """The whole bundle, beside the postmortem; a store that fails is logged, not fatal."""
        bundle = {"request": req.model_dump(mode="json"),
                  "summary": summary.model_dump(mode="json"),
                  "changes": [c.model_dump(mode="json") for c in ranked],
                  "suspect_rollouts": found_suspects, "sources": detail}
        data = json.dumps(bundle, default=str, indent=1).encode()
        try:
            return await self._store.put(bundle_name(req.incident_id), data, "application/json")
        except (OSError, MitigationRefused) as exc:
            log.warning("evidence.not_stored", incident_id=req.incident_id, reason=failure_line(exc))
            return None
