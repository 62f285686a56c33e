"""The postmortem: generated from the timeline, edited by humans (signal and CLI), stored
locally and in S3, with review-due and action-item reminders through the sinks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.settings import Settings
from tests.e2e.comms.helpers import Incident, _async, _mine, _with
from tests.support.env import settings_env
from tests.support.moto import MotoServer
from tests.support.polling import eventually
from tests.support.receivers import WebhookReceiver
from workers.main import running_worker
from workflows.postmortem import PostmortemEdit, PostmortemWorkflow


def _section(doc: str, heading: str) -> str:
    return doc.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


async def test_postmortem_sections_follow_the_timeline_and_edits_close_the_review(
    comms: Settings, client: Client, redis_client: aioredis.Redis, slack: WebhookReceiver,
    moto: MotoServer, tmp_path: Path,
) -> None:
    bucket = f"postmortems-{uuid.uuid4().hex[:6]}"
    moto.client("s3").create_bucket(Bucket=bucket)
    settings = _with(comms, review_due_seconds={s: 2.0 for s in ("P0", "P1", "P2", "P3")},
                     action_item_due_seconds=3.0, cadence_seconds={
                         s: 3600.0 for s in ("P0", "P1", "P2", "P3")})
    settings = settings.model_copy(update={"postmortem_bucket": bucket})
    incident = Incident(client, settings)
    await redis_client.set(f"health:{incident.case}", "ok")
    async with running_worker(client, settings):
        await incident.open()
        view = await incident.done()
        doc = await incident.incidents.postmortem(incident.id)

        # Section by section against the incident's record.
        assert doc.startswith("# Post-Incident Review: TestFlagAlert on checkout")
        assert "**Severity**: P2 (SEV-3)" in doc
        timeline = _section(doc, "Timeline (UTC)").strip().splitlines()[2:]
        recorded = [e for e in view.timeline if e.kind != "postmortem.written"]
        assert len(timeline) >= len(recorded)
        for row, entry in zip(timeline, sorted(recorded, key=lambda e: e.at), strict=False):
            assert f"{entry.at:%Y-%m-%d %H:%M:%S} UTC" in row
        for entry in recorded:
            assert f"| {entry.kind} |" in _section(doc, "Timeline (UTC)")
        assert "feature_flag.set (flip)" in _section(doc, "Summary")
        assert "Verification: recovered" in _section(doc, "Summary")
        assert "- Duration:" in _section(doc, "Impact")
        assert "- Users affected / revenue / SLA / data impact: _To be completed" in _section(
            doc, "Impact")  # seed 04: "Users affected, duration, revenue/SLA impact, data impact"
        assert "flip` (feature_flag.set, risk low): applied" in _section(doc, "Resolution")
        assert "To be completed" in _section(doc, "Root Cause")
        assert len(_section(doc, "Five Whys").strip().splitlines()) == 5
        assert "Mitigation applied automatically" in _section(doc, "What Went Well")
        assert "To be completed" in _section(doc, "Lessons Learned")
        items = _section(doc, "Action Items")
        assert "| AI-1 | Confirm the root cause and add a regression test | @alice | High |" in items

        # Reminders through the sinks: the review is due, then the action item.
        await eventually(lambda: _async(bool(_mine(slack, incident.id, "review_reminder"))),
                         timeout=20, what="review reminder")
        await eventually(lambda: _async(bool(_mine(slack, incident.id, "action_item_due"))),
                         timeout=20, what="action item reminder")

        # A human fills in the review through the CLI.
        edit = tmp_path / "edit.yaml"
        edit.write_text(json.dumps({
            "root_cause": "checkout-v2 shipped with an unbounded retry loop",
            "five_whys": ["Why errors? retries", "Why retries? no cap", "Why no cap? default",
                          "Why default? no review", "Why no review? no checklist"],
            "action_items": [{"action": "Cap retries in checkout", "owner": "bob",
                              "priority": "High"}],
            "went_poorly": ["The flag shipped on for everyone at once"],
            "lessons_learned": ["Retries need a cap and a budget",
                                "Roll flags out by percentage"],
            "close_action_items": ["AI-1"], "review_done": True,
        }))
        result = await asyncio.to_thread(subprocess.run, [
            sys.executable, "-m", "starters.cli", "postmortem", incident.id, "--edit", str(edit),
            "--as", "bob"], capture_output=True, text=True, env=settings_env(settings), timeout=60)
        assert result.returncode == 0, result.stderr

        async def edited() -> str | None:
            text = await incident.incidents.postmortem(incident.id)
            return text if "unbounded retry loop" in text else None

        doc = await eventually(edited, timeout=20, what="edited postmortem")
        assert "**Reviewed by**: bob" in doc
        assert "1. Why errors? retries" in _section(doc, "Five Whys")
        assert "- The flag shipped on for everyone at once" in _section(doc, "What Went Poorly")
        assert _section(doc, "Lessons Learned").strip().splitlines() == [
            "1. Retries need a cap and a budget", "2. Roll flags out by percentage"]
        assert "| AI-1 | Confirm the root cause" in doc and "| DONE |" in doc
        assert "| AI-2 | Cap retries in checkout | @bob | High |" in doc
        body = moto.client("s3").get_object(Bucket=bucket, Key=f"postmortems/{incident.id}.md")
        assert "unbounded retry loop" in body["Body"].read().decode()

        # Closing the last action item ends the review workflow.
        await incident.incidents.edit_postmortem(incident.id, PostmortemEdit(
            by="bob", close_action_items=["AI-2"]))
        handle = client.get_workflow_handle_for(PostmortemWorkflow.run, f"{incident.id}/postmortem")
        final = await asyncio.wait_for(handle.result(), timeout=20)
        assert "| AI-2 | Cap retries in checkout | @bob | High | " in final.markdown
    assert (settings.postmortem_dir / f"{incident.id}.md").read_text() == final.markdown
