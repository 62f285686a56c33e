"""Fast tier: the incident's clocks (seed 04's update cadence, seed 02's paging) on
durable timers, with activities faked by name: short configured timers, no sleeps."""

from __future__ import annotations

from datetime import datetime

from remediator.models.comms import (
    Acknowledgement,
    Audience,
    CommsPolicy,
    Role,
    RoleAssignment,
    SinkRef,
)
from remediator.models.mitigation import RiskLevel
from remediator.severity import Severity
from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.incident import IncidentWorkflow
from workflows.incident_models import SeverityChange


def _fast_clocks() -> CommsPolicy:
    comms = CommsPolicy(sinks=[SinkRef(name="chat", kind="slack")], oncall="alice",
                        page_again_seconds=1.0)
    comms.cadence_seconds = {level: 1.0 for level in comms.cadence_seconds}
    return comms


async def test_updates_follow_the_cadence_and_paging_stops_at_the_acknowledgement(
    start_incident: Start,
) -> None:
    """While a risky step waits (nobody decides), status updates go out on the cadence
    and the on-call engineer is paged again until someone acknowledges."""
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["bob"], comms=_fast_clocks()))
    handle = await start_incident(fakes)

    async def updates_and_pages() -> bool:
        return len(fakes.messages("status_update")) >= 2 and len(fakes.messages("page")) >= 3

    await eventually(updates_and_pages, timeout=30, what="two updates and two pages again")
    assert all(m.sink == "chat" for m in fakes.calls["send_message"])
    assert len({m.message_id for m in fakes.calls["send_message"]}) == len(
        fakes.calls["send_message"]), "each message has its own id (a retry is a no-op)"
    await handle.signal(IncidentWorkflow.acknowledge, Acknowledgement(user="alice"))

    async def acknowledged() -> bool:
        return (await handle.query(IncidentWorkflow.status)).acknowledged_by == "alice"

    await eventually(acknowledged, timeout=30, what="the acknowledgement")
    pages = len(fakes.messages("page"))
    await eventually(lambda: _async(len(fakes.messages("status_update")) >= 4), timeout=30,
                     what="two more updates after the acknowledgement")
    assert len(fakes.messages("page")) == pages, "no page after the acknowledgement"


async def _async(value: bool) -> bool:
    return value


async def test_the_clocks_share_one_timer_and_a_closing_incident_leaves_it(
    start_incident: Start,
) -> None:
    """Five clocks (ladder, paging, matrix, two cadences) wait on one durable timer, set
    for the nearest deadline: an incident that closes before any is due started one
    timer, instead of a timer per clock, and completed without cancelling it (since
    release n: completing drops it, and a cancel is one more history event)."""
    handle = await start_incident(Fakes(runbook(), policy()))
    await handle.result()
    events = [e async for e in handle.fetch_history_events()]
    started = [e for e in events if e.HasField("timer_started_event_attributes")]
    ended = [e for e in events if e.HasField("timer_canceled_event_attributes")
             or e.HasField("timer_fired_event_attributes")]
    assert len(started) == 1 and ended == [], [e.event_type for e in started + ended]
    # The UI's timer reads as every clock it stands for, the nearest first.
    summary = started[0].user_metadata.summary.data.decode()
    assert "; then " in summary and "severity P2 → P1 in 4 h" in summary, summary


async def test_a_clock_past_its_deadline_acts_while_the_others_keep_waiting(
    start_incident: Start,
) -> None:
    """Deadlines of different lengths on the one timer: the short ones act on time, again
    and again, while the long ones (the ladder's hours) still wait."""
    comms = _fast_clocks()
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["bob"], comms=comms))
    handle = await start_incident(fakes)
    await eventually(lambda: _async(len(fakes.messages("status_update")) >= 3), timeout=30,
                     what="three status updates at a 1 s cadence")
    status = await handle.query(IncidentWorkflow.status)
    assert status.severity == "P2", "the ladder's 4 h have not passed"
    events = [e async for e in handle.fetch_history_events()]
    running = {e.event_id for e in events if e.HasField("timer_started_event_attributes")}
    ended = {a.started_event_id for e in events for a in (
        e.timer_fired_event_attributes if e.HasField("timer_fired_event_attributes") else None,
        e.timer_canceled_event_attributes if e.HasField("timer_canceled_event_attributes")
        else None) if a is not None}
    assert len(running - ended) <= 2, "one clock timer (and the approval's) at a time"


def _late_sev1_clocks() -> CommsPolicy:
    """P2 → P1 after 1 s, P1 → P0 3 s later; the matrix's rows due before either; an
    internal sink and a customer one (the status page)."""
    return CommsPolicy(
        sinks=[SinkRef(name="chat", kind="slack"),
               SinkRef(name="status", kind="statuspage", audience=Audience.CUSTOMER)],
        oncall="alice", page_again_seconds=3600.0, customer_cadence_seconds=4.0,
        cadence_seconds={level: 3600.0 for level in Severity},
        escalate_after_seconds={Severity.P2: 1.0, Severity.P1: 3.0},
        matrix=[(0.5, "Engineering lead", False), (0.8, "VP Engineering", True),
                (1.2, "CTO", True)])


async def test_an_incident_that_becomes_sev1_late_is_paged_the_rows_it_passed(
    start_incident: Start,
) -> None:
    """Seed 02's matrix counts from the incident's start: a P2 that the ladder raises to
    P0 after the CTO's row was due pages the CTO as it becomes SEV-1 (before release m
    the row was skipped for good), and the VP the escalation already paged not twice.
    Customers hear as it becomes customer-facing (P1), then on their hourly cadence,
    which the step from P1 to P0 does not start again."""
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["bob"], comms=_late_sev1_clocks()))
    handle = await start_incident(fakes)

    def pages(who: str) -> list[str]:
        return [m.text for m in fakes.messages("page") if who in m.text]

    await eventually(lambda: _async(bool(pages("CTO")) and bool(pages("VP Engineering"))),
                     timeout=30, what="the CTO and the P0 circle paged")
    status = await handle.query(IncidentWorkflow.status)
    assert status.severity == "P0"
    assert len(pages("CTO")) == 1
    assert len(pages("VP Engineering")) == 1, pages("VP Engineering")  # the escalation's
    assert len(pages("Engineering lead")) == 1

    def timeline(kind: str) -> list[datetime]:
        return [e.at for e in status.timeline if e.kind == kind]

    async def two_customer_updates() -> bool:
        nonlocal status
        status = await handle.query(IncidentWorkflow.status)
        return len(timeline("notification.customer_update")) >= 2

    await eventually(two_customer_updates, timeout=30, what="the second customer update")
    escalated = sorted(timeline("severity.escalated"))
    first, second = sorted(timeline("notification.customer_update"))[:2]
    assert first == escalated[0], "customers hear as the incident becomes P1"
    # 4 s after the first: the step to P0 (3 s after it) did not start the hour again
    # (then it would have come 3 + 4 = 7 s after the first).
    assert (second - first).total_seconds() < 5.5, (first, second, escalated)


async def test_an_overdue_approval_that_raises_the_severity_pages_whom_it_adds(
    start_incident: Start,
) -> None:
    """Like the clocks' and a failed verification's escalations (since release m)."""
    comms = CommsPolicy(sinks=[SinkRef(name="chat", kind="slack")], oncall="alice")
    rules = policy(approvers=["bob"], comms=comms)
    rules.approvals.deadline_seconds = {**rules.approvals.deadline_seconds, Severity.P2: 1.0}
    fakes = Fakes(runbook(RiskLevel.RISKY), rules)
    await start_incident(fakes)

    def circle() -> list[str]:
        return [m.text for m in fakes.messages("page") if "escalated to P1" in m.text]

    await eventually(lambda: _async(bool(circle())), timeout=30, what="the P1 circle paged")
    assert "engineering manager, customer support lead" in circle()[0]


async def test_a_p1_update_names_the_roles_still_unassigned_until_they_are(
    start_incident: Start,
) -> None:
    """Seed 04, step 4: a P0/P1 has every role explicitly assigned; until it has, each
    status update's next steps say which are missing (a P2's say nothing of roles)."""
    fakes = Fakes(runbook(RiskLevel.RISKY), policy(approvers=["bob"], comms=_fast_clocks()))
    handle = await start_incident(fakes)

    def updates() -> list[str]:
        return [m.text for m in fakes.messages("status_update")]

    await eventually(lambda: _async(bool(updates())), timeout=30, what="a P2 status update")
    assert "Next steps: continue per runbook" in updates()[0]
    await handle.signal(IncidentWorkflow.set_severity, SeverityChange(
        by="carol", severity=Severity.P1, reason="most users"))
    missing = "Next steps: assign technical_lead, communications_lead, scribe"
    await eventually(lambda: _async(any(missing in text for text in updates())), timeout=30,
                     what="an update naming the missing roles")
    for role, user in ((Role.TECHNICAL_LEAD, "dave"), (Role.COMMUNICATIONS_LEAD, "erin"),
                       (Role.SCRIBE, "frank")):
        await handle.signal(IncidentWorkflow.assign_role, RoleAssignment(role=role, user=user))
    seen = len(updates())
    await eventually(lambda: _async(len(updates()) >= seen + 2), timeout=30,
                     what="two more updates")
    assert "Next steps: continue per runbook" in updates()[-1], updates()[-1]
