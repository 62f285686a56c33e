"""Fast tier: mitigate and verify against activities faked by name (dev server only)."""

from __future__ import annotations

from temporalio.client import WorkflowHandle

from tests.support.polling import eventually
from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentView, Resolution


async def test_a_low_risk_step_runs_once_and_a_healthy_window_resolves(
    start_incident: Start,
) -> None:
    fakes = Fakes(runbook(), policy())
    handle = await start_incident(fakes)
    view: IncidentView = await handle.result()  # type: ignore[assignment]
    assert (view.status, view.phase) == ("resolved", "done")
    [applied] = fakes.applied()
    assert applied.params == {"flag": "checkout-v2", "value": "off"}
    assert applied.occurrence, "keyed by the occurrence, so a recurrence acts again"
    assert fakes.calls["check_health"], "the window was watched"
    assert view.verdict is not None and view.verdict.passed
    assert not fakes.calls["restore_flag"]
    assert [s.state for s in view.steps] == ["applied"]
    assert len(fakes.calls["store_postmortem"]) == 1


async def _handed_over(handle: WorkflowHandle[IncidentWorkflow, object]) -> IncidentView:
    async def probe() -> IncidentView | None:
        view = await handle.query(IncidentWorkflow.status)
        return view if view.status == "escalated" else None

    return await eventually(probe, timeout=30, what="the incident handed over")


async def test_a_failed_window_undoes_the_step_and_hands_over(start_incident: Start) -> None:
    fakes = Fakes(runbook(), policy())
    fakes.healthy = False
    handle = await start_incident(fakes)
    view = await _handed_over(handle)
    [undo] = fakes.calls["restore_flag"]
    assert undo.undo == {"flag": "checkout-v2", "value": "on"}, "undone with what was replaced"
    assert [s.state for s in view.steps] == ["undone"]
    assert view.verdict is not None and not view.verdict.passed
    await handle.signal(IncidentWorkflow.resolve, Resolution(by="alice", reason="fixed by hand"))
    done: IncidentView = await handle.result()  # type: ignore[assignment]
    assert (done.status, done.phase) == ("resolved", "done")
    assert any(e.kind == "incident.resolved" and "alice" in e.detail for e in done.timeline)
    assert len(fakes.applied()) == 1 and len(fakes.calls["restore_flag"]) == 1
