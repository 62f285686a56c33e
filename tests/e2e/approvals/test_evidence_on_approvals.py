"""The evidence bundle through a real incident: triage records it and the suspect, the
approval request carries it (``remediator pending`` shows it), the postmortem has it."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from activities.feature_flags.redis_store import RedisFlagStore
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from tests.support.alerts import alertmanager_payload
from tests.support.approvals import FLAGS, Case
from tests.support.cli import cli
from workers.main import running_worker
from workflows.approvals.models import PendingApproval

FLAG_LINE = re.compile(r"flags: [1-9][0-9]* flag change\(s\)")
RULE = "http://prometheus.local/graph?g0.expr=sum%28test_errors%29+%3E+1&g0.tab=1"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def _open_now(case: Case) -> PendingApproval:
    """The case's incident, its alert starting now (after the flag flip) from a rule."""
    await case.redis.hset(FLAGS, case.flag, "on")
    await case.redis.set(f"health:{case.name}", "ok")
    payload = alertmanager_payload("TestApprovalAlert", case=case.name)
    payload["alerts"][0]["startsAt"] = datetime.now(UTC).isoformat()
    payload["alerts"][0]["generatorURL"] = RULE
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    case.id = (await case.incidents.open_or_join(batch)).id
    return await case.waiting()


async def test_the_approver_sees_the_suspect_change_and_the_postmortem_keeps_it(
    approvals: Settings, case: Case, client: object, state: aioredis.Redis,
) -> None:
    settings = approvals.model_copy(update={
        "evidence_budget_seconds": 5.0, "prometheus_url": f"http://127.0.0.1:{_closed_port()}"})
    # Someone flipped the flag shortly before the alert: the change the evidence finds.
    await RedisFlagStore(state).set_once("production", case.flag, "on", f"deploy:{case.name}",
                                         "manual")
    async with running_worker(client, settings):  # type: ignore[arg-type]
        pending = await _open_now(case)
        suspect = f"suspect: flag {case.flag} in production set to 'on' at "
        assert pending.evidence.startswith(suspect), pending.evidence
        # Other tests' flips in the session's shared Redis are counted too: not just 1.
        assert FLAG_LINE.search(pending.evidence), pending.evidence
        listed = await cli(settings, "pending")
        assert f"    evidence: {suspect}" in listed.stdout, listed.stdout
        as_json = json.loads((await cli(settings, "pending", "--json")).stdout)
        assert any(p["incident"] == case.id and p["evidence"] == pending.evidence
                   for p in as_json)
        await case.decide("alice", pending.plan_hash)
        view = await case.done()

    kinds = {e.kind: e.detail for e in view.timeline}
    assert kinds["investigation.suspect"].startswith(f"flag {case.flag} in production")
    assert FLAG_LINE.search(kinds["evidence.collected"])
    # The alert's own rule is read; Prometheus is away here: one line says so.
    assert "metrics: unavailable (PrometheusUnavailable" in kinds["evidence.collected"]
    markdown = Path(settings.postmortem_dir / f"{case.id}.md").read_text()
    assert "## Evidence" in markdown and f"**Suspect change**: flag {case.flag}" in markdown
    bundle = json.loads(Path(settings.postmortem_dir / f"{case.id}-evidence.json").read_text())
    assert bundle["summary"]["suspect"]["target"] == f"flag:{case.flag}@production"
