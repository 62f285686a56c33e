"""Fast tier: the incident stores its postmortem's first draft and starts the review
with it (since release-2026-12-n); the review phase sends nothing back."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.workflows.conftest import Start, policy, runbook
from tests.workflows.fakes import Fakes
from workflows.incident_models import IncidentView
from workflows.postmortem import PostmortemWorkflow


async def _kinds(client: Client, workflow_id: str) -> list[str]:
    handle = client.get_workflow_handle(workflow_id)
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
            async for e in handle.fetch_history_events()]


async def test_the_incident_stores_the_first_draft_and_the_review_starts_from_it(
    start_incident: Start, fast_client: Client,
) -> None:
    """The draft (with the record up to the close) is stored once, by the incident, and is
    on its record; the review phase answers with that document and has sent no signal and
    run no activity: it waits for edits and the review's reminder."""
    fakes = Fakes(runbook(), policy())
    handle = await start_incident(fakes)
    view: IncidentView = await handle.result()  # type: ignore[assignment]
    [doc] = fakes.calls["store_postmortem"]
    assert doc.review_at is not None and doc.action_items, "drafted before it was stored"
    assert any(e.kind == "mitigation.applied" for e in doc.timeline)
    assert view.postmortem is not None
    [written] = [e for e in view.timeline if e.kind == "postmortem.written"]
    assert written.phase == "postmortem" and "(by remediator)" in written.detail
    review = fast_client.get_workflow_handle(f"{handle.id}/postmortem")
    assert await review.query(PostmortemWorkflow.document) == view.postmortem
    kinds = await _kinds(fast_client, review.id)
    assert "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED" not in kinds, kinds
    assert "ACTIVITY_TASK_SCHEDULED" not in kinds and "TIMER_STARTED" in kinds, kinds
    incident = await _kinds(fast_client, handle.id)
    assert "WORKFLOW_EXECUTION_SIGNALED" not in incident, "nothing sent back to it"
