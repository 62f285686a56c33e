"""Correlation rules: alerts from different sources about one service make one incident
(within the rule's window); without rules, each group keeps its own."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from remediator.runbooks.correlation import load_rules
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.alerts.generic import parse_generic
from starters.incidents import Incidents
from tests.conftest import TESTS
from tests.support.alerts import alertmanager_payload
from tests.support.polling import eventually

RULES = """
rules:
  - name: by-service
    match: {{service: "corr-*"}}
    join_on: [service]
    window_seconds: {window}
"""


def _incidents(client: Client, settings: Settings, tmp_path: Path, window: float) -> Incidents:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(TESTS / "runbooks", runbooks)
    (runbooks / "correlation.yaml").write_text(RULES.format(window=window))
    return Incidents(client, settings.task_queue, rules=load_rules(runbooks))


def _generic(service: str) -> bytes:
    return json.dumps({"source": "grafana-oncall", "name": "CheckoutLatencyHigh",
                       "labels": {"service": service, "severity": "warning"}}).encode()


def _alertmanager(service: str, group_key: str | None = None) -> bytes:
    return json.dumps(alertmanager_payload("TestUnmatchedAlert", service=service,
                                           group_key=group_key)).encode()


async def test_alerts_from_two_sources_about_one_service_join_one_incident(
    settings: Settings, client: Client, worker: None, tmp_path: Path,
) -> None:
    incidents = _incidents(client, settings, tmp_path, window=600)
    service = f"corr-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    first = await incidents.open_or_join(parse_alertmanager(_alertmanager(service), now, 10))
    second = await incidents.open_or_join(parse_generic(_generic(service), now))
    other = await incidents.open_or_join(parse_generic(_generic(f"corr-x{service}"), now))
    assert first.created and (second.id, second.created) == (first.id, False)
    assert other.created and other.id != first.id

    async def both_recorded() -> list[str] | None:
        view = await incidents.view(first.id)
        firing = [e.detail for e in view.timeline if e.kind == "alert.firing"]
        return firing if len(firing) == 2 else None

    firing = await eventually(both_recorded, timeout=30, what="both alerts in the timeline")
    assert "from alertmanager" in firing[0] and "from grafana-oncall" in firing[1]
    assert (await incidents.view(first.id)).alerts == 2


async def test_outside_the_window_a_second_source_opens_its_own_incident(
    settings: Settings, client: Client, worker: None, tmp_path: Path,
) -> None:
    incidents = _incidents(client, settings, tmp_path, window=1)
    service = f"corr-{uuid.uuid4().hex[:8]}"
    first = await incidents.open_or_join(parse_alertmanager(
        _alertmanager(service, group_key=f"group-{service}"), datetime.now(UTC), 10))
    await asyncio.sleep(1.5)  # the rule's window is wall-clock time: let it pass
    second = await incidents.open_or_join(parse_generic(_generic(service), datetime.now(UTC)))
    assert first.created and second.created and second.id != first.id
    same_alert = _alertmanager(service, group_key=f"group-{service}")
    assert same_alert != _alertmanager(service)
    repeat = await incidents.open_or_join(parse_alertmanager(same_alert, datetime.now(UTC), 10))
    assert (repeat.id, repeat.created) == (first.id, False), "a known alert keeps its incident"


async def test_without_rules_each_group_keeps_its_own_incident(
    settings: Settings, client: Client, worker: None,
) -> None:
    incidents = Incidents(client, settings.task_queue)
    service = f"corr-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    first = await incidents.open_or_join(parse_alertmanager(_alertmanager(service), now, 10))
    second = await incidents.open_or_join(parse_generic(_generic(service), now))
    assert first.created and second.created and first.id != second.id


def test_runbook_validate_checks_correlation_rules(tmp_path: Path) -> None:
    good = tmp_path / "ok" / "correlation.yaml"
    good.parent.mkdir()
    good.write_text(RULES.format(window=600))
    bad = tmp_path / "correlation.yaml"
    bad.write_text("rules:\n  - name: by-service\n    join_on: []\n    window_seconds: -1\n")

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "starters.cli", "runbook", "validate",
                               str(path)], capture_output=True, text=True, timeout=60)

    ok = validate(good)
    assert ok.returncode == 0 and "1 correlation rule(s)" in ok.stdout
    refused = validate(bad)
    assert refused.returncode == 1
    assert f"{bad}:3: rules[0].join_on" in refused.stderr
    assert f"{bad}:4: rules[0].window_seconds" in refused.stderr
