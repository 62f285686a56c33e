"""Nothing a human sends can wedge a workflow: postmortem edits, role assignments,
acknowledgements and resolutions are validated where they enter and where they are
handled; a bad one is refused (and recorded), the workflow keeps running."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from remediator.models.incident import IncidentStatus
from remediator.models.postmortem import ActionItem, PostmortemInput
from remediator.settings import Settings
from remediator.severity import Severity
from tests.e2e.comms.helpers import Incident
from tests.support.approvals import Case
from tests.support.cli import cli
from tests.support.polling import eventually
from workers.main import running_worker
from workflows.postmortem import PostmortemEdit, PostmortemWorkflow, apply_edit, next_due
from workflows.support.seals import RECORDED_REFUSALS, REFUSED

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

_zones = st.sampled_from([None, UTC] + [timezone(timedelta(hours=h)) for h in (-11, -5, 5, 14)])
_due = st.one_of(
    st.none(), st.dates(), st.builds(lambda d, z: d.replace(tzinfo=z),
                                     st.datetimes(), _zones),
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=12))
_item = st.fixed_dictionaries(
    {"action": st.text(min_size=0, max_size=20), "owner": st.text(min_size=0, max_size=10)},
    optional={"due": _due, "priority": st.sampled_from(["High", "Low", "urgent"])})
_edit = st.fixed_dictionaries({"by": st.text(max_size=10)}, optional={
    "root_cause": st.text(max_size=30), "five_whys": st.lists(st.text(max_size=5), max_size=12),
    "action_items": st.lists(_item, max_size=3), "review_done": st.booleans(),
    "lessons_learned": st.lists(st.text(max_size=8), max_size=60),
    "close_action_items": st.lists(st.sampled_from(["AI-1", "AI-2", "AI-9"]), max_size=3)})


def _drafted() -> PostmortemInput:
    return PostmortemInput(
        incident_id="INC-test", title="t", service="checkout", severity=Severity.P2,
        status=IncidentStatus.RESOLVED, opened_at=NOW, closed_at=NOW, alerts=[], steps=[],
        verdict=None, timeline=[], review_at=NOW + timedelta(days=7), action_items=[
            ActionItem(id="AI-1", action="a", owner="o", due=NOW + timedelta(days=7))])


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edit)
def test_every_edit_that_validates_is_processable(fields: dict[str, Any]) -> None:
    try:
        edit = PostmortemEdit.model_validate(fields)
    except ValidationError:
        return  # refused where it enters (CLI, or dropped with a record by the workflow)
    # As the signal carries it: through JSON, validated again on the worker.
    edit = PostmortemEdit.model_validate_json(edit.model_dump_json())
    doc = apply_edit(_drafted(), edit, NOW)
    assert all(i.due.tzinfo is not None for i in doc.action_items)
    next_due(doc, set())
    assert all(isinstance(i.due <= NOW, bool) for i in doc.action_items)
    PostmortemInput.model_validate_json(doc.model_dump_json())  # the store activity's input


def test_a_date_only_due_date_means_that_day_in_utc() -> None:
    edit = PostmortemEdit.model_validate({"by": "alice", "action_items": [
        {"action": "a", "owner": "o", "due": date(2026, 12, 5)},
        {"action": "b", "owner": "o", "due": "2026-12-05T10:00:00"},
        {"action": "c", "owner": "o", "due": "2026-12-05T10:00:00+02:00"}]})
    assert [i.due for i in edit.action_items] == [
        datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 5, 10, tzinfo=UTC),
        datetime(2026, 12, 5, 8, tzinfo=UTC)]


async def _healthy(handle: WorkflowHandle[Any, Any]) -> None:
    """Still running, and not one workflow task failed."""
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    failed = [e async for e in handle.fetch_history_events()
              if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed == []


async def test_date_only_cli_edit_applies_and_malformed_edits_are_refused(
    settings: Settings, client: Client, redis_client: aioredis.Redis, tmp_path: Path,
) -> None:
    incident = Incident(client, settings)
    await redis_client.set(f"health:{incident.case}", "ok")
    async with running_worker(client, settings):
        await incident.open()
        await incident.done()
        edit = tmp_path / "edit.yaml"  # YAML reads the bare date as a date
        edit.write_text("action_items:\n  - action: Cap retries\n    owner: bob\n"
                        "    due: 2026-12-05\n")
        sent = await cli(settings, "postmortem", incident.id, "--edit", str(edit), "--as", "alice")
        assert sent.returncode == 0, sent.stderr
        handle = client.get_workflow_handle(f"{incident.id}/postmortem")

        async def applied() -> list[ActionItem] | None:
            items = await handle.query(PostmortemWorkflow.action_items)
            return [i for i in items if i.action == "Cap retries"] or None

        [item] = await eventually(applied, timeout=30, what="the date-only edit applied")
        assert item.due == datetime(2026, 12, 5, tzinfo=UTC)

        # Straight from a plain Temporal client: not an edit at all, and a wrong one.
        await handle.signal("edit", "not an edit")
        await handle.signal("edit", {"by": "mallory", "action_items": [{"due": "soon"}]})

        async def refused() -> list[str] | None:
            why = await handle.query(PostmortemWorkflow.refused_edits)
            return why if len(why) == 2 else None

        why = await eventually(refused, timeout=30, what="both malformed edits recorded")
        assert all("malformed edit refused" in w for w in why)
        await _healthy(handle)


async def test_malformed_human_signals_leave_the_incident_running(
    approvals: Settings, case: Case, client: Client, approval_worker: None,
) -> None:
    await case.open()  # waits for an approval: the incident runs until someone decides
    handle = client.get_workflow_handle(case.id)
    for name, payload in [("assign_role", {"role": "king", "user": "eve"}),
                          ("assign_role", {"role": "scribe", "user": ""}),
                          ("acknowledge", {}), ("acknowledge", "eve"),
                          ("resolve", {"by": "eve"}), ("resolve", [1, 2]),
                          ("approve", {"step": ["not", "a", "step"]})]:
        await handle.signal(name, payload)
    who = f"ok-{uuid.uuid4().hex[:6]}"
    await handle.signal("acknowledge", {"user": who})  # the next valid one still applies

    async def acknowledged() -> bool:
        return (await case.incidents.view(case.id)).acknowledged_by == who

    await eventually(acknowledged, timeout=30, what="a valid acknowledgement after bad ones")
    view = await case.incidents.view(case.id)
    assert view.roles.get("scribe") in (None, "") and "king" not in json.dumps(view.roles)
    assert view.status == "awaiting_approval"
    refused = [e.detail for e in view.timeline if e.kind == REFUSED]
    assert sum("malformed" in r for r in refused) == RECORDED_REFUSALS, refused
    assert refused[0].startswith("assign_role signal refused: malformed")
    assert "counted, not recorded" in refused[-1]  # the other two: logged and counted
    await _healthy(handle)
