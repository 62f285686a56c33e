"""Safety rails across incidents (README "Safety rails"): what an incident asks the guard
before its runbook runs, and tells it after.

Before the first step: every target the runbook's steps change is locked for this
incident (a target another incident holds is waited for, then handed over), unless
automation is paused or a maintenance window covers the incident (shadow mode: plan,
change nothing), the action is cooling down on its target, or the runbook is blocked on
it (failed verifications, or a fix that does not hold). After verification: the verdict
counts toward those blocks and the fleet's circuit breaker, and the locks free with
the last verdict.

Each decision lands in the timeline (so in ``status``, the postmortem and the Temporal
UI's history), and every call is an activity against the guard workflow: durable, and
asked again by Temporal if a worker dies mid-call.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.alertmanager.silence import INCIDENT_ALERTS
    from remediator.models.alert import common_labels
    from remediator.models.guard import (
        Admission,
        AdmitRequest,
        Recurrence,
        Released,
        ReleaseRequest,
        TargetIntent,
        VerificationOutcome,
        VerificationRecord,
    )
    from remediator.models.mitigation import MitigationStep
    from remediator.models.runbook import Runbook
    from workflows.catalogue import lookup
    from workflows.guard import client as guard
    from workflows.guard.client import GuardWait
    from workflows.incident_state import IncidentState
    from workflows.support.versions import patched

# Incidents recorded before the rails neither lock nor report to the guard.
RAILS = "safety-rails"
RAILS_RELEASE = "release-2026-11-b"  # the release that added the rails
VERDICT_RELEASES = "verdict-releases-the-locks"


def intent(step: MitigationStep, incident_id: str) -> TargetIntent:
    """What ``step`` changes, as the guard locks and counts it. A target of the incident's
    own (a silence of its alerts, chosen when the step runs) is locked per incident."""
    params = lookup(step.action).params.model_validate(step.params)
    target = params.target()
    if target == INCIDENT_ALERTS:
        target = f"{target}:{incident_id}"
    return TargetIntent(action=step.action, target=target, scope=params.cap_scope(),
                        cooldown_seconds=step.cooldown_seconds)


def intents(runbook: Runbook, incident_id: str) -> list[TargetIntent]:
    """Every target of the runbook's steps and fallback steps (each once)."""
    seen: dict[tuple[str, str], TargetIntent] = {}
    for step in [*runbook.steps, *runbook.fallback_steps]:
        it = intent(step, incident_id)
        seen.setdefault((it.action, it.target), it)
    return list(seen.values())


class Rails:
    """The incident's side of the guard: admitted, verified, released."""

    def __init__(self, state: IncidentState, group: str | None) -> None:
        self._state = state
        self._group = group
        self.waiter = GuardWait()
        self._held = False
        self._on: bool | None = None

    @property
    def on(self) -> bool:
        """Whether this incident runs with the rails (not one recorded before them)."""
        if self._on is None:
            self._on = patched(RAILS, since=RAILS_RELEASE)
        return self._on

    def _targets(self, runbook: Runbook) -> list[str]:
        return sorted({it.target for it in intents(runbook, self._state.id)})

    async def recurred(self, runbook: Runbook) -> None:
        """The group fired again: if its last fix passed verification, that fix did not hold."""
        if self._group is None or not self.on:
            return
        outcome = await guard.recurred(Recurrence(
            group_id=self._group, runbook=runbook.name, targets=self._targets(runbook),
            incident_id=self._state.id))
        if outcome.counted:
            self._state.record("guard.recurrence", outcome.detail)

    async def admit(self, runbook: Runbook, lock_wait_seconds: float) -> Admission:
        """Shadow, live with every target locked, or refused (the reason says why)."""
        state = self._state
        wait = runbook.lock_wait_seconds
        request = AdmitRequest(
            incident_id=state.id, run_id=workflow.info().first_execution_run_id,
            runbook=runbook.name, labels={**common_labels(state.all_alerts),
                                          "service": state.service},
            targets=intents(runbook, state.id), waiter_workflow_id=state.id)
        answer = await guard.admit(request)
        if answer.busy and not answer.refused:
            state.record("guard.waiting", f"{answer.detail}; waiting up to "
                         f"{lock_wait_seconds if wait is None else wait:g}s")
            answer = await guard.admit_waiting(
                request, self.waiter, lock_wait_seconds if wait is None else wait)
        if answer.mode == "shadow":
            state.record("guard.shadow", answer.detail)
        elif answer.granted:
            self._held = True
            state.record("guard.locked", "holding " + ", ".join(self._targets(runbook)))
        else:
            state.record("guard.refused", answer.detail)
        return answer

    async def verified(self, runbook: Runbook, passed: bool, last: bool) -> VerificationOutcome:
        """The verdict counted; ``last`` (no further attempt follows): the locks free with
        it, in the same call (since release-2026-12-e)."""
        release = last and self._held and patched(VERDICT_RELEASES, since="release-2026-12-e")
        outcome = await guard.verification_recorded(VerificationRecord(
            incident_id=self._state.id, runbook=runbook.name, targets=self._targets(runbook),
            passed=passed, group_id=self._group or "", release=release))
        if outcome.blocked or outcome.circuit_tripped:
            self._state.record("guard.blocked", outcome.detail)
        if release:  # what it held: every target of its runbook, locked at admission
            self._held = False
            self._note(Released(targets=self._targets(runbook)))
        return outcome

    async def release(self) -> None:
        """Every lock and slot this incident holds frees (verified, undone or handed over)."""
        if not self._held:
            return
        self._held = False
        self._note(await guard.release(ReleaseRequest(
            incident_id=self._state.id, run_id=workflow.info().first_execution_run_id)))

    def _note(self, released: Released) -> None:
        if released.targets:
            self._state.record("guard.released", "released " + ", ".join(released.targets))
