"""The guard's contract with incidents: its workflow and updates by name, its policy, and
the requests and answers that cross from an incident (through an activity) to the guard.

The guard (``workflows/guard/``) is one long-lived workflow per namespace that holds the
safety rails shared by every incident: target locks, cooldowns, blocks after failed or
ineffective fixes, maintenance windows, the pause switch and the fleet caps. Activities
reach it by these names and import no workflow code (imports flow down).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from remediator.models.contract import Contract

GUARD_WORKFLOW = "GuardWorkflow"
# One guard per namespace; tests give each case its own id (REMEDIATOR_GUARD_WORKFLOW_ID).
GUARD_WORKFLOW_ID = "remediator-guard"



# The guard's own task queue, one per namespace like the guard itself: every worker
# process serves it with a worker of its own, whatever its REMEDIATOR_TASK_QUEUE (a guard
# tied to one deployment's queue would be stranded when that setting changed). On the
# incidents' queue it deadlocked a burst: an incident waiting on the guard held one of
# its worker's task slots, and with every slot held the guard's own task never ran.
GUARD_TASK_QUEUE = "remediator-guard"


# Updates (incident side)
ADMIT = "admit"
STEP_STARTED = "step_started"
STEP_FINISHED = "step_finished"
VERIFICATION_RECORDED = "verification_recorded"
RECURRED = "recurred"
RELEASE = "release"
CONFIGURE = "configure"
# Updates (operator side)
MAINTENANCE_ADD = "maintenance_add"
MAINTENANCE_END = "maintenance_end"
PAUSE = "pause"
RESUME = "resume"
# Query
STATUS = "status"

# Who pauses automation when too many verifications fail across incidents.
CIRCUIT_BREAKER = "circuit-breaker"

Text = Field(min_length=1, max_length=256)


class GuardPolicy(Contract):
    """Every limit and duration of the rails, in seconds, with the documented defaults
    (README "Safety rails"). Taken from the worker's settings when the guard starts and
    whenever a worker starts (``configure``)."""

    cooldown_seconds: float = Field(300.0, ge=0)
    # Lock liveness: how often held locks are checked against their holders.
    sweep_seconds: float = Field(300.0, gt=0)
    # Consecutive failed verifications of a runbook on a target within the window block
    # automation of that runbook on that target for ``block_seconds``.
    failure_window_seconds: float = Field(3600.0, gt=0)
    failures_to_block: int = Field(3, ge=1)
    block_seconds: float = Field(3600.0, gt=0)
    # Recurrences of an alert group after a passing verification, within the same window.
    recurrences_to_block: int = Field(3, ge=1)
    # Fleet caps: mutating steps in flight, overall and per scope (namespace / account).
    max_in_flight: int = Field(10, ge=1)
    max_in_flight_per_scope: int = Field(3, ge=1)
    # Circuit breaker: this many failed verifications across all incidents within the
    # window pause automation.
    breaker_failures: int = Field(5, ge=1)
    breaker_window_seconds: float = Field(1800.0, gt=0)
    # Applications are remembered this long for per-request cooldown overrides.
    remember_seconds: float = Field(86_400.0, gt=0)
    # A fresh run (state carried) past this many history events.
    events_per_run: int = Field(1000, ge=100, le=40_000)
    # The task queue the guard runs on, set by the worker that configures it; a guard on
    # another queue (started before guards had their own) moves there with a fresh run.
    task_queue: str | None = Field(None, min_length=1, max_length=256)


class Holder(Contract):
    """Who holds a lock or a slot: an incident, by its id and the run that took it (the
    incident's first run id, stable across continue-as-new)."""

    incident_id: str = Text
    run_id: str = ""


class TargetIntent(Contract):
    """One mutation an incident plans: ``action`` on ``target`` within ``scope``."""

    action: str = Text  # runbook action, e.g. kubernetes.rollout_undo
    target: str = Text  # kubernetes:ns/deploy, flag:name@env, asg:name, …
    scope: str = ""  # namespace or account the fleet caps count per
    cooldown_seconds: float | None = Field(None, ge=0)  # this step's override


class AdmitRequest(Contract):
    """An incident asks to run ``runbook`` on ``targets``: all locks at once, or none."""

    incident_id: str = Text
    run_id: str = ""
    runbook: str = Text
    labels: dict[str, str] = Field(default_factory=dict)
    targets: list[TargetIntent] = Field(default_factory=list, max_length=100)
    # Which workflow gets ``guard_released`` when a busy target frees (default: the incident).
    waiter_workflow_id: str | None = None


class Busy(Contract):
    target: str
    holder: Holder
    since: datetime

    @property
    def detail(self) -> str:
        return f"target busy: {self.target} held by {self.holder.incident_id}"


class Refusal(Contract):
    """A rail that refuses automation: a cooldown or a block."""

    kind: Literal["cooldown", "blocked"]
    action: str = ""
    target: str
    until: datetime
    detail: str


class Admission(Contract):
    """The guard's answer to ``admit``. ``shadow``: run the incident, change nothing
    (paused, or in a maintenance window); ``granted``: every target's lock is held by the
    asker. Not granted: ``busy`` (wait for ``guard_released`` or hand over) or
    ``refused`` (hand over to humans with the reasons)."""

    mode: Literal["live", "shadow"]
    granted: bool
    reasons: list[str] = Field(default_factory=list)
    busy: list[Busy] = Field(default_factory=list)
    refused: list[Refusal] = Field(default_factory=list)

    @property
    def detail(self) -> str:
        parts = [*self.reasons, *(b.detail for b in self.busy), *(r.detail for r in self.refused)]
        return "; ".join(parts) or ("admitted" if self.granted else "not admitted")


class StepRequest(Contract):
    """A mutating step starts or ends (the fleet caps count it in flight in between)."""

    incident_id: str = Text
    run_id: str = ""
    action: str = Text
    target: str = Text
    scope: str = ""
    waiter_workflow_id: str | None = None


class StepFinished(StepRequest):
    applied: bool = False
    cooldown_seconds: float | None = Field(None, ge=0)


class StepSlot(Contract):
    granted: bool
    detail: str = ""
    in_flight: int = 0


class VerificationRecord(Contract):
    """A verification of ``runbook`` on ``targets`` ended: passed or not."""

    incident_id: str = Text
    runbook: str = Text
    targets: list[str] = Field(default_factory=list, max_length=100)
    passed: bool
    group_id: str = ""
    # The verdict is the incident's last word to the guard (it passed, or no fallback is
    # left): every lock and slot of the incident frees in the same update (since
    # release-2026-12-e) — one round trip and ~6 history events less per incident. The
    # outcome stays as it was, so a worker of the release before still reads it.
    release: bool = False


class Released(Contract):
    targets: list[str] = Field(default_factory=list)
    slots: int = 0


class Block(Contract):
    runbook: str
    target: str
    until: datetime
    reason: str


class VerificationOutcome(Contract):
    """What a recorded verification changed: new blocks, and whether the circuit breaker
    tripped (automation paused: the caller pages)."""

    blocked: list[Block] = Field(default_factory=list)
    circuit_tripped: bool = False
    detail: str = ""


class Recurrence(Contract):
    """An alert group fires again after a passing verification of ``runbook``."""

    group_id: str = Text
    runbook: str = Text
    targets: list[str] = Field(default_factory=list, max_length=100)
    incident_id: str = ""


class RecurrenceOutcome(Contract):
    counted: bool
    blocked: list[Block] = Field(default_factory=list)
    detail: str = ""


class ReleaseRequest(Contract):
    incident_id: str = Text
    run_id: str = ""


class GuardReleased(Contract):
    """Signal payload to a waiter: these targets (or a fleet slot) just freed; ask again."""

    targets: list[str] = Field(default_factory=list)
    slot: bool = False


class HolderLiveness(Contract):
    """The liveness activity's answer: holders whose incident no longer runs that run."""

    stale: list[Holder] = Field(default_factory=list)
