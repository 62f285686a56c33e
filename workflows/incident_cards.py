"""What the incident tells the Temporal UI about each phase it starts: the child's static
summary and details (what it was given), and the incident's current details while the
phase runs (what it waits for). Texts only: see ``workflows.support.ui``."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.incident import Phase
    from workflows.detect import runbook_link
    from workflows.incident_state import IncidentState
    from workflows.mitigate import MitigateInput
    from workflows.support import ui
    from workflows.verify import VerifyInput, WindowPlan


class Card(NamedTuple):
    summary: str
    details: str
    current: str


def headline(state: IncidentState) -> str:
    """The incident in one line: detect's title once known, else its first alerts'."""
    if state.opened is None:
        return ui.opening(state.all_alerts)[0] if state.all_alerts else state.id
    return ui.headline(state.title, state.service, state.severity)


def runbook(state: IncidentState) -> str:
    opened = state.opened
    if opened is None:
        return "The runbook is matched from the alerts' labels."
    return ui.runbook_markdown(opened.runbook, runbook_link(opened))


def phase_card(state: IncidentState, phase: Phase, arg: object) -> Card:
    """The child ``<id>/<phase>``'s summary and details; what the incident waits for."""
    head, child = headline(state), f"`{state.id}/{phase}`"
    if isinstance(arg, MitigateInput):
        how = "planned (dry run: nothing is changed)" if arg.dry_run else "applied in order"
        approvers = ", ".join(arg.approvals.approvers) or "nobody listed"
        body = (f"Steps {how}; risky ones wait for approval (approvers: {approvers}).\n\n"
                + "\n".join(ui.steps_markdown(arg.steps)) + "\n\n" + runbook(state))
        current = ui.running(phase, f"Running the steps in {child}:\n\n"
                             + "\n".join(ui.steps_markdown(arg.steps)))
    elif isinstance(arg, VerifyInput):
        assert arg.runbook is not None, "verify needs the runbook's criteria"
        # Opened by the incident (release l), else as the phase will open it, now.
        plan = arg.window or WindowPlan.opening(arg.runbook.verify, arg.timings, arg.severity,
                                                workflow.now())
        checks = ", ".join(c.label for c in arg.runbook.verify.checks)
        body = (f"Health checks ({checks or 'none'}) over a {ui.span(plan.window_seconds)} "
                f"window ({arg.severity}); on failure the applied steps are undone in reverse."
                "\n\n" + runbook(state))
        current = ui.verifying(plan.window_seconds, plan.ends_at, arg.severity,
                               checks or "the runbook's checks")
    elif phase == Phase.DETECT:
        body = (f"{len(state.all_alerts)} alert(s) normalised and deduplicated; the runbook "
                "matched; the incident's policy read.")
        current = ui.running(phase, f"Matching a runbook in {child}.")
    else:
        body = "Severity from the alerts' labels (and the runbook's floor); the response " \
               "team paged; recent deployments looked up.\n\n" + runbook(state)
        current = ui.running(phase, f"Assigning severity and the response team in {child}.")
    summary, details = ui.phase(str(phase), head, body)
    return Card(summary, details, current)


def postmortem_card(state: IncidentState, review_at: datetime) -> Card:
    summary, details = ui.phase(str(Phase.POSTMORTEM), headline(state), (
        f"The postmortem draft from the timeline ({len(state.timeline)} entries); the review "
        f"is due {review_at:%Y-%m-%d %H:%M} UTC, with reminders for it and for every action "
        "item. It outlives the incident (edits, reminders).\n\n" + runbook(state)))
    current = ui.running(Phase.POSTMORTEM, f"Writing the postmortem draft in "
                         f"`{state.id}/{Phase.POSTMORTEM}`.")
    return Card(summary, details, current)
