"""Communications, escalation and roles, against real receivers: a Slack-compatible
webhook server, an SMTP server (aiosmtpd) and SNS on moto."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from remediator.models.comms import Acknowledgement, Role, RoleAssignment
from remediator.settings import Settings
from tests.e2e.comms.helpers import CADENCE, Incident, _async, _mine, _with
from tests.support.moto import MotoServer
from tests.support.polling import eventually
from tests.support.receivers import SmtpReceiver, WebhookReceiver
from tests.support.worker_proc import WorkerProcess
from workers.main import running_worker
from workflows.incident_models import IncidentView


async def test_declaration_updates_on_cadence_and_resolution_reach_every_sink(
    comms: Settings, client: Client, redis_client: aioredis.Redis, slack: WebhookReceiver,
    smtp: SmtpReceiver, moto: MotoServer, sns_queue: tuple[str, str],
) -> None:
    incident = Incident(client, comms)
    await redis_client.set(f"health:{incident.case}", "ok")
    async with running_worker(client, comms):
        await incident.open()
        view = await incident.done()
        await eventually(lambda: _async(len(_mine(slack, incident.id, "resolution")) == 1),
                         timeout=20, what="resolution notice")
    [initial] = _mine(slack, incident.id, "initial")
    lines = initial.body["text"].splitlines()
    assert lines[0] == "INCIDENT DECLARED: P2 - TestFlagAlert on checkout"
    assert "Incident Commander: alice" in lines
    number = incident.id.rsplit("-", 1)[1]
    assert f"Channel: #incident-{view.timeline[0].at:%Y-%m-%d}-{number}" in lines
    assert lines[-1] == f"Next update in {CADENCE / 60:g} minutes."
    # On the cadence: a 5 s verify window at 1.5 s, each update 1.5 s after the last one.
    cadence = [e.at for e in view.timeline if e.kind == "notification.status_update"]
    assert len(cadence) >= 3
    gaps = [(b - a).total_seconds() for a, b in pairwise(cadence)]
    # (a doubled update would show a gap near 0, a skipped one a gap near 2 × CADENCE)
    assert all(CADENCE * 0.9 <= gap < CADENCE * 1.9 for gap in gaps), gaps
    assert any("Status: Monitoring" in p.body["text"]
               for p in _mine(slack, incident.id, "status_update"))
    phases = [p.body["text"] for p in _mine(slack, incident.id, "phase_update")]
    assert any("Status: Mitigating" in t for t in phases)
    assert any("Status: Monitoring" in t for t in phases)
    [resolved] = _mine(slack, incident.id, "resolution")
    assert resolved.body["text"].startswith("INCIDENT RESOLVED: P2 - TestFlagAlert on checkout")
    assert "Follow-up: Post-incident review scheduled for" in resolved.body["text"]
    # Every message went to every sink, once.
    sent = {p.body["message_id"] for p in slack.posts if p.body["incident_id"] == incident.id}
    assert len(sent) == len([p for p in slack.posts if p.body["incident_id"] == incident.id])
    mails = [m for m in smtp.messages if m["Subject"].endswith("TestFlagAlert on checkout")]
    assert len(mails) == len(sent)
    assert {m["Message-ID"] for m in mails} == {f"<{mid}@remediator>" for mid in sent}
    sqs = moto.client("sqs")
    published = []
    while batch := sqs.receive_message(QueueUrl=sns_queue[1], MaxNumberOfMessages=10).get(
            "Messages", []):
        published += [json.loads(m["Body"])["Subject"] for m in batch]
    assert "INCIDENT RESOLVED: P2 - TestFlagAlert on checkout" in published


async def test_escalation_ladder_p2_to_p1_to_p0_pages_the_next_circle(
    comms: Settings, client: Client, slack: WebhookReceiver
) -> None:
    settings = _with(comms, escalate_after_seconds={"P2": 1.0, "P1": 1.0})
    incident = Incident(client, settings)
    async with running_worker(client, settings):
        await incident.open("NoRunbookAlert")  # no runbook: handed to humans, stays open

        async def at_p0() -> IncidentView | None:
            view = await incident.view()
            return view if view.severity == "P0" else None

        view = await eventually(at_p0, timeout=30, what="escalation to P0")
        ladder = [e.detail for e in view.timeline if e.kind == "severity.escalated"]
        assert [d.split(":")[0] for d in ladder] == ["P2 → P1", "P1 → P0"]
        def paged(who: str, level: str) -> bool:
            return any(who in p.body["text"] and f"escalated to {level}" in p.body["text"]
                       for p in _mine(slack, incident.id, "page"))

        await eventually(lambda: _async(paged("engineering manager", "P1")
                                        and paged("VP Engineering", "P0")),
                         timeout=20, what="the next circles paged")
        await incident.resolve()
        await incident.done()


async def test_acknowledgement_stops_paging_and_roles_are_recorded(
    comms: Settings, client: Client, slack: WebhookReceiver
) -> None:
    settings = _with(comms, page_again_seconds=1.0)
    incident = Incident(client, settings)
    async with running_worker(client, settings):
        await incident.open("NoRunbookAlert")
        await eventually(lambda: _async(len(_mine(slack, incident.id, "page")) >= 3),
                         timeout=30, what="repeated pages")
        await incident.incidents.acknowledge(incident.id, Acknowledgement(user="bob"))
        await incident.incidents.assign(incident.id, RoleAssignment(
            role=Role.TECHNICAL_LEAD, user="carol", by="bob"))
        view = await eventually(lambda: _acked(incident), timeout=10, what="ack recorded")
        pages = len(_mine(slack, incident.id, "page"))
        updates = len(_mine(slack, incident.id, "status_update"))
        await eventually(lambda: _async(len(_mine(slack, incident.id, "status_update"))
                                        >= updates + 2), timeout=30, what="two more updates")
        assert len(_mine(slack, incident.id, "page")) <= pages + 1  # one may have been in flight
        assert view.acknowledged_by == "bob"
        view = await incident.view()
        assert view.roles["technical_lead"] == "carol"
        assert view.roles["incident_commander"] == "alice"
        await incident.resolve()
        await incident.done()


async def _acked(incident: Incident) -> IncidentView | None:
    view = await incident.view()
    return view if view.acknowledged_by else None


async def test_worker_killed_mid_cadence_neither_skips_nor_doubles_updates(
    comms: Settings, client: Client, slack: WebhookReceiver, tmp_path: Path
) -> None:
    incident = Incident(client, comms)
    with WorkerProcess(comms, tmp_path) as first:
        await incident.open("NoRunbookAlert")
        await eventually(lambda: _async(len(_mine(slack, incident.id, "status_update")) >= 3),
                         timeout=30, what="three status updates")
        first.kill()
    with WorkerProcess(comms, tmp_path):
        before = len(_mine(slack, incident.id, "status_update"))
        await eventually(lambda: _async(len(_mine(slack, incident.id, "status_update"))
                                        >= before + 3), timeout=30, what="updates after restart")
        await incident.resolve()
        view = await incident.done()
    posts = [p for p in slack.posts if p.body["incident_id"] == incident.id]
    ids = [p.body["message_id"] for p in posts]
    assert len(ids) == len(set(ids)), "an update was posted twice"
    recorded = [e for e in view.timeline if e.kind == "notification.status_update"]
    assert len(recorded) == len(_mine(slack, incident.id, "status_update")), "an update was lost"
    seqs = sorted(int(i.split("/")[-1].split("-")[0]) for i in ids)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a message number is missing"


async def test_failing_sink_is_retried_and_never_blocks_remediation(
    comms: Settings, client: Client, redis_client: aioredis.Redis
) -> None:
    from remediator.settings import SinkConfig
    from tests.support.receivers import WebhookReceiver

    with WebhookReceiver(fail_first=4) as flaky:
        settings = comms.model_copy(update={
            "sinks": [SinkConfig(name="flaky", kind="slack", url=flaky.url)],
            "verify_window_p2_p3_seconds": 0.0})
        incident = Incident(client, settings)
        await redis_client.set(f"health:{incident.case}", "ok")
        async with running_worker(client, settings):
            await incident.open()
            view = await incident.done()  # did not wait for the sink
            assert view.status == "resolved"
            await eventually(lambda: _async(bool(_mine(flaky, incident.id, "initial"))),
                             timeout=30, what="the initial alert after retries")
    assert len(_mine(flaky, incident.id, "initial")) == 1


async def test_escalation_matrix_pages_by_time_and_spares_sev1_only_circles_below_p0(
    comms: Settings, client: Client, slack: WebhookReceiver
) -> None:
    settings = _with(comms, matrix=[(1.0, "Engineering lead", False), (1.5, "VP Engineering", True),
                                    (2.0, "CTO", True)])
    incident = Incident(client, settings)
    async with running_worker(client, settings):
        await incident.open("NoRunbookAlert")  # P2: the SEV-1-only circles are not paged

        def pages() -> list[str]:
            return [p.body["text"] for p in _mine(slack, incident.id, "page")]

        await eventually(lambda: _async(any("Engineering lead" in p for p in pages())),
                         timeout=20, what="engineering lead paged at 15 min (scaled)")
        updates = len(_mine(slack, incident.id, "status_update"))
        await eventually(lambda: _async(len(_mine(slack, incident.id, "status_update"))
                                        >= updates + 2), timeout=20, what="time past the CTO step")
        assert not any("VP Engineering" in p or "CTO" in p for p in pages())
        await incident.resolve()
        await incident.done()
