"""Proof of an approver: an HMAC over exactly what a human decided.

The message binds the incident, the step, the plan hash, the decision, the approver,
the reason and when it was issued; the key is the approver's API token (the same
secret the HTTP API and the CLI authenticate with). Whoever holds the token can sign,
and only the worker (which knows every user's token) checks — in an activity, so no
secret ever enters a workflow history.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from remediator.models.approval import ApprovalRequest

VERSION = "remediator-decision-v1"


def decision_message(incident_id: str, decision: ApprovalRequest) -> bytes:
    """The canonical bytes a decision's signature covers (fields newline-separated)."""
    issued = decision.issued_at.isoformat() if decision.issued_at else ""
    fields = [VERSION, incident_id, decision.step, decision.plan_hash or "",
              "approve" if decision.approve else "reject", decision.approver,
              hashlib.sha256(decision.reason.encode()).hexdigest(), issued]
    return "\n".join(fields).encode()


def signature_of(incident_id: str, decision: ApprovalRequest, secret: str) -> str:
    return hmac.new(secret.encode(), decision_message(incident_id, decision),
                    hashlib.sha256).hexdigest()


def sign(incident_id: str, decision: ApprovalRequest, secret: str,
         now: datetime) -> ApprovalRequest:
    """The decision stamped with ``now`` and signed with the approver's secret."""
    stamped = decision.model_copy(update={"issued_at": now, "signature": None})
    return stamped.model_copy(update={"signature": signature_of(incident_id, stamped, secret)})


def signature_valid(incident_id: str, decision: ApprovalRequest, secret: str) -> bool:
    if not decision.signature:
        return False
    return hmac.compare_digest(decision.signature, signature_of(incident_id, decision, secret))
