"""Activities faked by name, for the fast tier: the workflows run for real on the dev
server; only what they ask of the outside world is answered here, and recorded.

The fakes stand in for what these tests do not test (Redis, Kubernetes, Slack, files,
signatures); the activities themselves have their own tests against real servers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.alertmanager.firing import StillFiring, StillFiringRequest
from activities.evidence.request import EvidenceRequest
from activities.runbooks import RunbookLookup, RunbookQuery
from activities.watch import WatchRequest, WatchResult
from remediator.models.approval import ProofCheck
from remediator.models.comms import Message
from remediator.models.evidence import EvidenceSummary, SourceNote
from remediator.models.mitigation import (
    MitigationRequest,
    MitigationResult,
    UndoRequest,
    UndoResult,
)
from remediator.models.policy import IncidentPolicy
from remediator.models.postmortem import PostmortemInput, PostmortemResult
from remediator.models.runbook import Check, Runbook
from remediator.models.verification import CheckResult


class Fakes:
    """One incident's outside world: a runbook, a policy, a service that is healthy or
    not; every call is recorded by activity name."""

    def __init__(self, runbook: Runbook, policy: IncidentPolicy) -> None:
        self.runbook, self.policy = runbook, policy
        self.healthy = True
        self.proofs_valid = True
        self.firing = True
        self.apply_fails = False  # set_flag refuses (non-retryable), as an allow-list would
        # While set and not yet released, the evidence is still being read.
        self.evidence_held: asyncio.Event | None = None
        self.calls: dict[str, list[Any]] = defaultdict(list)

    def applied(self) -> list[MitigationRequest]:
        """The mitigations that really ran (not their dry-run plans)."""
        return [r for r in self.calls["set_flag"] if not r.dry_run]

    def messages(self, kind: str) -> list[Message]:
        return [m for m in self.calls["send_message"] if m.kind == kind]

    async def still_firing(self, req: StillFiringRequest) -> StillFiring:
        """The still-firing check (an activity of its own, and inside the go-ahead)."""
        self.calls["alerts_still_firing"].append(req)
        return StillFiring(firing=self.firing, detail="fake", checked=["incident"])

    def activities(self) -> list[Callable[..., Any]]:
        calls = self.calls

        @activity.defn(name="alerts_still_firing")
        async def alerts_still_firing(req: StillFiringRequest) -> StillFiring:
            return await self.still_firing(req)

        @activity.defn(name="find_runbook")
        async def find_runbook(query: RunbookQuery) -> Runbook | None:
            calls["find_runbook"].append(query)
            return self.runbook

        @activity.defn(name="incident_policy")
        async def incident_policy() -> IncidentPolicy:
            calls["incident_policy"].append(None)
            return self.policy

        @activity.defn(name="find_runbook_with_policy")
        async def find_runbook_with_policy(query: RunbookQuery) -> RunbookLookup:
            calls["find_runbook"].append(query)
            calls["incident_policy"].append(None)
            return RunbookLookup(runbook=self.runbook, policy=self.policy)

        @activity.defn(name="set_flag")
        async def set_flag(req: MitigationRequest) -> MitigationResult:
            calls["set_flag"].append(req)
            if self.apply_fails and not req.dry_run:
                raise ApplicationError("flag not on the allow-list", type="NotAllowed",
                                       non_retryable=True)
            flag = req.params["flag"]
            return MitigationResult(
                step_id=req.step_id, action="feature_flag.set", applied=not req.dry_run,
                dry_run=req.dry_run, detail=f"{flag}: 'on' → {req.params['value']!r}",
                undo=None if req.dry_run else {"flag": flag, "value": "on"})

        @activity.defn(name="rollback_deployment")
        async def rollback_deployment(req: MitigationRequest) -> MitigationResult:
            """Planned only here (dry runs): whether the evidence was in when it ran."""
            calls["rollback_deployment"].append(
                (req, self.evidence_held is None or self.evidence_held.is_set()))
            return MitigationResult(step_id=req.step_id, action="kubernetes.rollout_undo",
                                    applied=False, dry_run=True, detail="would roll back")

        @activity.defn(name="restore_flag")
        async def restore_flag(req: UndoRequest) -> UndoResult:
            calls["restore_flag"].append(req)
            return UndoResult(step_id=req.step_id, undone=True, detail="restored 'on'")

        @activity.defn(name="check_health")
        async def check_health(check: Check) -> CheckResult:
            calls["check_health"].append(check)
            return CheckResult(check=check, healthy=self.healthy,
                               observed="ok" if self.healthy else "failing", at=datetime.now(UTC))

        @activity.defn(name="watch_window")
        async def watch_window(req: WatchRequest) -> WatchResult:
            """The window watched: one round at its end."""
            calls["watch_window"].append(req)
            await asyncio.sleep(max(0.0, (req.ends_at - datetime.now(UTC)).total_seconds()))
            return WatchResult(rounds=[[await check_health(c) for c in req.checks]])

        @activity.defn(name="collect_evidence")
        async def collect_evidence(req: EvidenceRequest) -> EvidenceSummary:
            calls["collect_evidence"].append(req)
            if self.evidence_held is not None:
                await self.evidence_held.wait()
            return EvidenceSummary(onset=req.onset, collected_at=datetime.now(UTC), sources=[
                SourceNote(source="flags", ok=True, detail="1 flag change(s)")])

        @activity.defn(name="send_message")
        async def send_message(msg: Message) -> bool:
            calls["send_message"].append(msg)
            return True

        @activity.defn(name="store_postmortem")
        async def store_postmortem(doc: PostmortemInput) -> PostmortemResult:
            calls["store_postmortem"].append(doc)
            return PostmortemResult(path=f"memory:{doc.incident_id}.md",
                                    markdown=f"# Postmortem: {doc.title}\n")

        @activity.defn(name="check_decisions")
        async def check_decisions(check: ProofCheck) -> list[str | None]:
            calls["check_decisions"].append(check)
            return [None if self.proofs_valid else "signature does not prove it"
                    for _ in check.decisions]

        return [find_runbook, find_runbook_with_policy, incident_policy, set_flag, restore_flag,
                check_health, watch_window, send_message, store_postmortem, check_decisions,
                alerts_still_firing, collect_evidence, rollback_deployment]
