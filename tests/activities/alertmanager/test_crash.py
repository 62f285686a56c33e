"""A worker SIGKILLed right after Alertmanager created the silence: the fresh worker finds
that silence by its step marker and creates none more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import Client

from remediator.settings import Settings
from tests.activities.alertmanager.conftest import ALLOWLIST, case_name
from tests.activities.common import mitigate_across_crash, new_case
from tests.support.alertmanager import AlertmanagerServer, silences


async def test_worker_killed_after_creating_the_silence_creates_no_second_one(
    settings: Settings, client: Client, tmp_path: Path, alertmanager: AlertmanagerServer
) -> None:
    settings = settings.model_copy(update={"alertmanager_url": alertmanager.url,
                                           "silence_allowlist": ALLOWLIST,
                                           "sticky_timeout_seconds": 1.0})
    case, name = new_case(), case_name()
    seen: list[int] = []

    async def mine() -> list[dict[str, Any]]:
        return [s for s in await silences(alertmanager.url)
                if f"inc-{case}" in str(s["comment"])]

    async def meanwhile() -> None:
        seen.append(len(await mine()))

    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "alertmanager.silence.after_create", case,
        "alertmanager.silence", {"matchers": [f"alertname={name}"], "duration_seconds": 600},
        meanwhile)

    assert seen == [1]  # created before the kill
    [silence] = await mine()
    assert outcome.state == "applied", outcome.detail
    assert outcome.undo is not None and outcome.undo["silence_id"] == silence["id"]
    assert silence["status"] == {"state": "active"}
