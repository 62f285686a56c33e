"""Fast tier: the incident's clocks (seed 04's update cadence, seed 02's paging) on
durable timers, with activities faked by name: short configured timers, no sleeps."""

from __future__ import annotations

from remediator.models.comms import Acknowledgement, CommsPolicy, SinkRef
from remediator.models.mitigation import RiskLevel
from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.incident import IncidentWorkflow


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


async def test_the_clocks_share_one_timer_and_a_closing_incident_cancels_it(
    start_incident: Start,
) -> None:
    """Five clocks (ladder, paging, matrix, two cadences) wait on one durable timer, set
    for the nearest deadline: an incident that closes before any is due started one
    timer and cancelled it, instead of a timer per clock."""
    handle = await start_incident(Fakes(runbook(), policy()))
    await handle.result()
    events = [e async for e in handle.fetch_history_events()]
    started = [e for e in events if e.HasField("timer_started_event_attributes")]
    cancelled = [e for e in events if e.HasField("timer_canceled_event_attributes")]
    assert len(started) == 1 and len(cancelled) == 1, [e.event_type for e in started]
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
