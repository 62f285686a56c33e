"""Checking who decided: the worker holds every user's secret, workflows never do."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity

from activities.support.crash_points import CrashPoints
from remediator.approval_proof import signature_valid
from remediator.models.approval import ApprovalRequest, ProofCheck
from remediator.settings import Settings

log = structlog.get_logger()


class ProofActivities:
    """Checks the signatures of decisions with the users' API tokens as keys."""

    def __init__(self, settings: Settings, crash: CrashPoints | None = None) -> None:
        self._settings = settings
        self._crash = crash or CrashPoints(None)

    def _why_not(self, incident_id: str, decision: ApprovalRequest, now: datetime,
                 path: str) -> str | None:
        if decision.signature is None and decision.issued_at is None:
            if self._settings.trust_temporal_identity:
                return None
            return "unsigned decision (sign it: remediator sign-decision)"
        secret = self._settings.secret_for(decision.approver)
        if secret is None or not signature_valid(incident_id, decision, secret):
            return f"signature does not prove {decision.approver!r}"
        assert decision.issued_at is not None  # signed over it
        if path == "phase":  # checked for age where it entered; a 2nd approver may be late
            return None
        age = (now - decision.issued_at).total_seconds()
        if age > self._settings.decision_max_age_seconds or age < -60:
            return f"signed decision issued at {decision.issued_at:%Y-%m-%dT%H:%M:%SZ} is stale"
        return None

    @activity.defn
    async def check_decisions(self, check: ProofCheck) -> list[str | None]:
        """Per decision: None when its signature proves its approver, else why not.

        With REMEDIATOR_TRUST_TEMPORAL_IDENTITY an unsigned decision passes (Temporal's
        own authentication is then the proof); a signed one is always checked.
        """
        now = datetime.now(UTC)
        verdicts = [self._why_not(check.incident_id, d, now, check.path) for d in check.decisions]
        for decision, why in zip(check.decisions, verdicts, strict=True):
            if why is not None:
                log.warning("approval.proof_refused", incident_id=check.incident_id,
                            step=decision.step, approver=decision.approver, path=check.path,
                            reason=why)
        self._crash.reach("approval.proof_checked")
        return verdicts
