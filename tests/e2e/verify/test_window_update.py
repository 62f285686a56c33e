"""Humans move the verify window: ``remediator verify ID --extend S | --end-now --as USER``
(an Update on ``<incident id>/verify``), validated and recorded in the timeline."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client, WorkflowUpdateFailedError

from remediator.settings import Settings
from tests.e2e.verify.helpers import Incident
from tests.support.env import settings_env
from workers.main import running_worker
from workflows.verify import VerifyWorkflow, WindowChange

WINDOW = 6.0


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    remediator = Path(sys.executable).parent / "remediator"
    return subprocess.run([str(remediator), "verify", *args], env=settings_env(settings),
                          capture_output=True, text=True, timeout=60)


async def _healthy_incident(client: Client, settings: Settings,
                            redis_client: aioredis.Redis) -> Incident:
    incident = Incident(client, settings, "TestFlagAlert")
    await redis_client.set(f"health:{incident.case}", "ok")
    return incident


async def test_cli_extends_the_window_and_the_timeline_says_who(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    settings = settings.model_copy(update={"verify_window_p2_p3_seconds": WINDOW})
    incident = await _healthy_incident(client, settings, redis_client)
    async with running_worker(client, settings):
        await incident.open(starts_at=datetime.now(UTC))
        opened = await incident.window_opened()
        done = await asyncio.to_thread(_cli, settings, incident.id, "--extend", "3", "--as",
                                       "alice", "--reason", "watching the canary")
        assert done.returncode == 0, done.stderr
        assert f"{incident.id}: verify window" in done.stdout
        view = await incident.done()
    extended = next(e for e in view.timeline if e.kind == "verify.window_extended")
    assert extended.detail.startswith("by alice: +3s, until ")
    assert extended.detail.endswith(": watching the canary")
    assert view.verdict is not None and view.verdict.passed
    assert view.verdict.window_ended_at is not None
    elapsed = (view.verdict.window_ended_at - opened.at).total_seconds()
    # Extended once by 3 s: not cut short, not extended twice (that would be ≥ +6 s). The
    # end includes the closing round's check, so allow for its latency on a loaded machine.
    assert WINDOW + 3 <= elapsed < WINDOW + 6, elapsed
    refused = await asyncio.to_thread(_cli, settings, incident.id, "--end-now", "--as", "alice")
    assert refused.returncode == 1 and "no verify window open" in refused.stderr


async def test_end_now_judges_what_was_seen_and_bad_changes_are_refused(
    settings: Settings, client: Client, redis_client: aioredis.Redis,
) -> None:
    settings = settings.model_copy(update={"verify_window_p2_p3_seconds": 600.0})
    incident = await _healthy_incident(client, settings, redis_client)
    async with running_worker(client, settings):
        await incident.open(starts_at=datetime.now(UTC))
        await incident.entry("verify.healthy")
        window = client.get_workflow_handle_for(VerifyWorkflow.run, f"{incident.id}/verify")
        # A client that skips validation still meets the workflow's: nothing changes.
        bogus = WindowChange.model_construct(by="mallory", extend_seconds=-60.0, end_now=False,
                                             reason="")
        with pytest.raises(WorkflowUpdateFailedError):
            await window.execute_update(VerifyWorkflow.adjust_window, bogus)
        state = await window.execute_update(
            VerifyWorkflow.adjust_window, WindowChange(by="bob", end_now=True, reason="all green"))
        assert state.ends_at < state.started_at + timedelta(seconds=600) and state.rounds >= 1
        view = await incident.done()
    assert view.status == "resolved"
    assert view.verdict is not None and view.verdict.passed
    assert view.verdict.window_started_at and view.verdict.window_ended_at
    assert (view.verdict.window_ended_at - view.verdict.window_started_at).total_seconds() < 30
    kinds = [e.kind for e in view.timeline]
    assert "verify.window_extended" not in kinds
    ended = next(e for e in view.timeline if e.kind == "verify.window_ended_early")
    assert ended.detail == "by bob: all green"
    # The incident opened the window and recorded it (release l): the phase signalled only
    # the first round and the human's change, not the opening (three signals before).
    opening = next(e for e in view.timeline if e.kind == "verify.window_started")
    assert opening.at == view.verdict.window_started_at and opening.phase == "verify"
    assert opening.detail.startswith("monitoring 600s until ")
    history = await window.fetch_history()
    signals = [e for e in history.events
               if e.HasField("signal_external_workflow_execution_initiated_event_attributes")]
    assert len(signals) == 2, signals


@pytest.mark.parametrize(("args", "message"), [
    (["--extend", "-5", "--as", "alice"], "greater than 0"),
    (["--as", "alice"], "either extend_seconds or end_now"),
    (["--extend", "5", "--end-now", "--as", "alice"], "either extend_seconds or end_now"),
])
def test_cli_refuses_a_bad_change_before_sending_it(
    settings: Settings, args: list[str], message: str,
) -> None:
    done = _cli(settings, "inc-nonexistent", *args)
    assert done.returncode == 2 and message in done.stderr
