"""Fast tier: a human re-classifies an incident (``set_severity``, ``remediator
severity``), and a phase's own view of the severity never brings it back down."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from remediator.models.comms import CommsPolicy, SinkRef
from remediator.models.mitigation import RiskLevel
from remediator.severity import Severity
from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView, SeverityChange
from workflows.support import search


def _waiting(deadline_p2: float | None = None) -> Fakes:
    """A P2 incident whose risky step waits for an approval nobody gives."""
    rules = policy(approvers=["bob"], comms=CommsPolicy(sinks=[SinkRef(name="chat", kind="slack")],
                                                        oncall="alice"))
    if deadline_p2 is not None:
        rules.approvals.deadline_seconds = {**rules.approvals.deadline_seconds,
                                            Severity.P2: deadline_p2}
    return Fakes(runbook(RiskLevel.RISKY), rules)


async def _approval_requested(handle: WorkflowHandle[Any, Any]) -> IncidentView:
    async def requested() -> IncidentView | None:
        view: IncidentView = await handle.query(IncidentWorkflow.status)
        return view if any(e.kind == "approval.requested" for e in view.timeline) else None

    return await eventually(requested, timeout=30, what="the approval request")


def _kinds(view: IncidentView, kind: str) -> list[str]:
    return [e.detail for e in view.timeline if e.kind == kind]


async def test_a_human_raises_the_severity_and_whom_it_adds_is_paged(
    start_incident: Start,
) -> None:
    fakes = _waiting()
    handle = await start_incident(fakes)
    view = await _approval_requested(handle)
    assert view.severity == "P2"
    await handle.signal(IncidentWorkflow.set_severity, SeverityChange(
        by="carol", severity=Severity.P0, reason="checkout is down for everyone"))

    async def changed() -> IncidentView | None:
        view = await handle.query(IncidentWorkflow.status)
        return view if _kinds(view, "severity.changed") else None

    view = await eventually(changed, timeout=30, what="the severity changed")
    assert view.severity == "P0"
    assert _kinds(view, "severity.changed") == [
        "P2 → P0 by carol: checkout is down for everyone"]

    async def circle() -> list[str]:
        return [m.text for m in fakes.messages("page") if "escalated to P0" in m.text]

    paged = await eventually(circle, timeout=30, what="the P0 circle paged")
    assert len(paged) == 1 and "VP Engineering" in paged[0], paged
    described = await eventually(
        lambda: _indexed(handle, "P0"), timeout=30, what="RemediatorSeverity = P0")
    assert described


async def _indexed(handle: WorkflowHandle[Any, Any], severity: str) -> bool:
    attributes = (await handle.describe()).typed_search_attributes
    return attributes.get(search.SEVERITY) == severity


async def test_a_lowered_severity_pages_nobody_and_bad_changes_are_refused(
    start_incident: Start,
) -> None:
    fakes = _waiting()
    handle = await start_incident(fakes)
    await _approval_requested(handle)
    pages = len(fakes.messages("page"))
    await handle.signal("set_severity", {"by": "carol", "severity": "P9", "reason": "x"})
    await handle.signal(IncidentWorkflow.set_severity, SeverityChange(
        by="carol", severity=Severity.P2, reason="same"))
    await handle.signal(IncidentWorkflow.set_severity, SeverityChange(
        by="dave", severity=Severity.P3, reason="a workaround exists"))

    async def lowered() -> IncidentView | None:
        view = await handle.query(IncidentWorkflow.status)
        return view if view.severity == "P3" else None

    view = await eventually(lowered, timeout=30, what="the severity lowered")
    refused = _kinds(view, "signal.refused")
    assert len(refused) == 2, refused
    assert "malformed" in refused[0] and "P2: it is P2 already" in refused[1]
    assert _kinds(view, "severity.changed") == ["P2 → P3 by dave: a workaround exists"]
    assert len(fakes.messages("page")) == pages, "a lower severity pages nobody"
    assert await eventually(lambda: _indexed(handle, "P3"), timeout=30,
                            what="RemediatorSeverity = P3")


async def test_an_overdue_approval_does_not_lower_a_severity_a_human_raised(
    start_incident: Start,
) -> None:
    """The mitigate phase escalates from the severity it started with (P2 → P1); the
    incident, raised to P0 by a human meanwhile, stays P0 (before release m it went
    back down to P1)."""
    fakes = _waiting(deadline_p2=2.0)
    handle = await start_incident(fakes)
    await _approval_requested(handle)
    await handle.signal(IncidentWorkflow.set_severity, SeverityChange(
        by="carol", severity=Severity.P0, reason="all regions"))

    async def overdue() -> IncidentView | None:
        view = await handle.query(IncidentWorkflow.status)
        return view if any("overdue" in d for d in _kinds(view, "severity.escalated")) else None

    view = await eventually(overdue, timeout=30, what="the approval overdue")
    assert view.severity == "P0"
    assert _kinds(view, "severity.changed") == ["P2 → P0 by carol: all regions"]
