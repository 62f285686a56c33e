"""Every signal remediator's own workflows send each other, and which of them are sealed.

A sealed signal carries, in its ``remediator-seal`` header, an HMAC made by the sending
worker with the workers' internal key (``workers/seals.py``); the receiving workflow acts
on it only if the seal verifies, names this receiver and this payload, comes from the
workflow allowed to send it, and was not delivered before. Anyone else reaching the
Temporal frontend can send these names, but not seal them: the receiver refuses and
records it. Alert intake (``alerts``, ``duplicates``) is not sealed: the webhook server, a
Temporal client, sends it too (see README "Security").
"""

from __future__ import annotations

# phase → incident
RECORD = "record"  # timeline entries, in batches
APPROVAL_REQUESTED = "approval_requested"  # a step waits for a decision
SEVERITY_RAISED = "severity_raised"  # an approval deadline passed
POSTMORTEM_DRAFTED = "postmortem_drafted"  # the first draft of the document
# The first draft with the phase's timeline entries: one signal instead of the two above
# (``record`` then ``postmortem_drafted``), for incidents that ask for it (release-2026-12-e).
POSTMORTEM_WRITTEN = "postmortem_written"
# incident → mitigate phase
DECIDED = "decided"  # the decision on a waiting step, with its signed proofs
# incident → alert group
INCIDENT_CLOSED = "incident_closed"  # the group's next alert opens a new incident
# alert intake (alert group or webhook server) → incident
ALERTS = "alerts"
DUPLICATES = "duplicates"
# guard → a waiting incident: a target (or fleet slot) it waited for is free; ask again.
# Not sealed: a forged one only makes the incident ask the guard again, which decides.
GUARD_RELEASED = "guard_released"

SEALED = frozenset({RECORD, APPROVAL_REQUESTED, SEVERITY_RAISED, POSTMORTEM_DRAFTED,
                    POSTMORTEM_WRITTEN, DECIDED, INCIDENT_CLOSED})
SEAL_HEADER = "remediator-seal"
# Receivers accept sealed signals only once the workflow has taken this patch: histories
# recorded before seals existed replay without them.
SEALING_PATCH = "sealed-internal-signals"
