"""An incident per packaged runbook, from an Alertmanager alert through approval,
mitigation on the real server, verification in Prometheus, to a resolved incident."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.activities.postgres.test_queries import older
from tests.support.alerts import alertmanager_payload
from tests.support.haproxy import HaproxyServer
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from tests.support.postgres import PostgresServer, sessions
from tests.support.prometheus import PrometheusServer
from workflows.incident_models import IncidentView


async def incident(client: Client, settings: Settings, alertname: str, **labels: str
                   ) -> IncidentView:
    """Open an incident from an alert, approve its one risky step as alice, wait for the end."""
    incidents = Incidents(client, settings.task_queue)
    payload = alertmanager_payload(alertname, service="db", **labels)
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    incident_id = (await incidents.open_or_join(batch)).id

    async def waiting() -> object:
        return next(iter(await incidents.pending(incident_id)), None)

    pending = await eventually(waiting, timeout=60, what="a step waiting for approval")
    request = ApprovalRequest(step=pending.step_id, approver="alice",  # type: ignore[attr-defined]
                              plan_hash=pending.plan_hash, reason="e2e")  # type: ignore[attr-defined]
    await incidents.decide(incident_id, sign(incident_id, request, "tok-alice", datetime.now(UTC)))
    return await wait_done(incidents, incident_id, timeout=90)


@contextmanager
def traffic(lb: HaproxyServer) -> Iterator[None]:
    """Requests through the proxy all along, as users would send them."""
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=lb.url, timeout=10) as http:
            while not stop.is_set():
                http.get("/")
                stop.wait(0.05)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


async def scraped(scraper: PrometheusServer, query: str) -> None:
    async def probe() -> bool:
        value = await scraper.value(query)
        return value is not None and value > 0

    await eventually(probe, timeout=30, what=query)


async def test_database_long_queries_incident_cancels_them(
    settings: Settings, client: Client, worker: None, postgres: PostgresServer,
    scraper: PrometheusServer,
) -> None:
    async with sessions(postgres) as db:
        long = await db.sleep("e2e runaway report")
        await older(postgres, long.pid)
        await scraped(scraper, 'max(pg_stat_activity_max_tx_duration{datname="shop"}) > 1')

        view = await incident(client, settings, "PostgresLongRunningQueries", datname="shop")

        assert await long.outcome() == "cancelled"
    assert view.status == "resolved", view.timeline
    [step] = view.steps
    assert step.state == "applied" and f"pid {long.pid} user app" in step.detail


async def test_drain_bad_instance_incident_routes_traffic_away(
    settings: Settings, client: Client, worker: None, lb: HaproxyServer,
    scraper: PrometheusServer,
) -> None:
    lb.backends["s1"].failing = True
    try:
        with traffic(lb):
            await scraped(scraper, 'sum(irate(haproxy_backend_http_responses_total'
                                   '{proxy="web",code="5xx"}[1m]))')
            view = await incident(client, settings, "HAProxyServerErrors", proxy="web",
                                  server="s1")
        assert view.status == "resolved", view.timeline
        assert [s.state for s in view.steps] == ["applied"]
        assert "s1" not in await asyncio.to_thread(lb.spread, 12)
    finally:
        lb.backends["s1"].failing = False
        lb.command("set server web/s1 state ready")


async def test_traffic_spike_incident_caps_connections(
    settings: Settings, client: Client, worker: None, lb: HaproxyServer,
    scraper: PrometheusServer,
) -> None:
    with traffic(lb):
        await scraped(scraper, 'sum(haproxy_backend_http_responses_total{proxy="web"})')
        view = await incident(client, settings, "HAProxyServerSaturated", proxy="web", server="s2")
    assert view.status == "resolved", view.timeline
    [step] = view.steps
    assert step.state == "applied" and step.detail.endswith("web/s2: 0 → 50")
    assert "slim" in lb.command("show stat web 4 -1")
    lb.command("set maxconn server web/s2 0")
