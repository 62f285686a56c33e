"""Refusals of decisions, audited without letting a flood of them grow the history.

Each refusal is logged (structured) and, for the first few of each step, written to the
timeline with who, which step, why and on which path; past the cap they are only counted,
and the count is recorded once the step is decided.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.approval_proof import ProofActivities
    from remediator.models.approval import ApprovalRequest, ProofCheck

REFUSED = "approval.refused"
RECORDED_PER_STEP = 5
UNKNOWN_STEP = "*"  # refusals naming no waiting step share one bucket: names are free


class Refusals:
    """Counts refusals per step; says which ones deserve a timeline entry."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def note(self, bucket: str, who: str, step: str, path: str, why: str) -> str | None:
        """Log a refusal; the timeline text for it, or None once the step's cap is reached."""
        count = self.counts[bucket] = self.counts.get(bucket, 0) + 1
        workflow.logger.warning("approval.refused", extra={
            "step": step, "approver": who, "path": path, "reason": why, "count": count})
        if count <= RECORDED_PER_STEP:
            return f"{step[:128]}: {who[:200]!r} via {path}: {why}"
        if count == RECORDED_PER_STEP + 1:
            return f"{step[:128]}: further refusals are counted, not recorded"
        return None

    def capped(self, bucket: str) -> bool:
        return self.counts.get(bucket, 0) > RECORDED_PER_STEP

    def summary(self, bucket: str) -> str | None:
        """Said once the step is decided: how many refusals went unrecorded."""
        count = self.counts.pop(bucket, 0)
        if count <= RECORDED_PER_STEP:
            return None
        return f"{bucket}: {count} refusals in all, {count - RECORDED_PER_STEP} not recorded"


async def proof_refusals(incident_id: str, path: str,
                         decisions: list[ApprovalRequest]) -> list[str | None]:
    """The worker's verdict on each decision's signature (no secret enters the history)."""
    if not decisions:
        return []
    return await workflow.execute_activity_method(
        ProofActivities.check_decisions,
        ProofCheck(incident_id=incident_id, path=path, decisions=decisions),
        start_to_close_timeout=timedelta(seconds=10),
        summary=f"check the signatures of {len(decisions)} decision(s)")
