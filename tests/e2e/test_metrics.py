"""remediator's metrics as an operator gets them: the real Prometheus scrapes the webhook
server, the worker and the Temporal SDK while a real incident waits for approval, is
acknowledged, approved, mitigated, verified and closed; the figures are queried back
through Prometheus's HTTP API. The Grafana dashboard uses only names they export."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from remediator.devstack.servers import free_port
from remediator.models.comms import Acknowledgement
from remediator.settings import Settings
from remediator.telemetry.metrics import Metrics
from remediator.temporal import connect, sdk_metrics_runtime
from tests.conftest import ServerThread
from tests.support.alerts import alertmanager_payload
from tests.support.approvals import FLAGS, Case
from tests.support.polling import eventually
from tests.support.prometheus import PrometheusServer, prometheus_binary
from workers.approval_metrics import OLDEST, WAITING
from workers.main import running_worker
from workers.metrics_server import serving_metrics

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "remediator.json"


@pytest.fixture
def prometheus_bin() -> str:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip("prometheus not installed (Debian package `prometheus`; scripts/setup.sh)")
    return binary


@pytest.fixture
def ports() -> Iterator[dict[str, int]]:
    yield {"worker": free_port(), "sdk": free_port(), "prometheus": free_port()}


async def test_prometheus_scrapes_an_incidents_figures(
    approvals: Settings, case: Case, prometheus_bin: str, ports: dict[str, int], tmp_path: Path
) -> None:
    settings = approvals.model_copy(update={
        "worker_metrics_addr": f"127.0.0.1:{ports['worker']}", "metrics_cache_seconds": 0.0})
    client = await connect(settings, sdk_metrics_runtime(f"127.0.0.1:{ports['sdk']}"))
    metrics = Metrics.for_runbooks(settings.runbook_dir)
    async with ServerThread(settings) as web, running_worker(client, settings, metrics), \
            serving_metrics(settings, metrics, client):
        prom = PrometheusServer(prometheus_bin, tmp_path / "prom", ports["prometheus"], [
            f"127.0.0.1:{web.port}", f"127.0.0.1:{ports['worker']}",
            f"127.0.0.1:{ports['sdk']}"])
        prom.start()
        try:
            plan_hash = await _run_incident(web.base, case)
            await _check_figures(prom, case, plan_hash)
        finally:
            prom.stop()


async def _run_incident(base: str, case: Case) -> str:
    """An incident opened through the webhook (with a duplicate and a bad delivery), its
    step waiting for approval, acknowledged; the plan hash to approve."""
    await case.redis.hset(FLAGS, case.flag, "on")
    await case.redis.set(f"health:{case.name}", "ok")
    payload = alertmanager_payload("TestApprovalAlert", service="checkout", case=case.name)
    async with httpx.AsyncClient() as http:
        first = await http.post(f"{base}/v1/alerts/alertmanager", json=payload, timeout=30)
        assert first.status_code == 202, first.text
        case.id = first.json()["incidents"][0]["id"]
        again = await http.post(f"{base}/v1/alerts/alertmanager", json=payload, timeout=30)
        assert again.json()["incidents"][0] == {"id": case.id, "created": False}
        bad = await http.post(f"{base}/v1/alerts/alertmanager", content=b"{", timeout=30,
                              headers={"content-type": "application/json"})
        assert bad.status_code == 400
    pending = await case.waiting()
    await case.incidents.acknowledge(case.id, Acknowledgement(user="bob"))
    return pending.plan_hash


async def _value(prom: PrometheusServer, query: str, at_least: float) -> float:
    async def probe() -> float | None:
        found = await prom.value(query)
        return found if found is not None and found >= at_least else None

    return await eventually(probe, timeout=30, every=0.5, what=f"{query} >= {at_least}")


async def _check_figures(prom: PrometheusServer, case: Case, plan_hash: str) -> None:
    # While the step waits: the approval is seen, and how long it has waited.
    assert await _value(prom, WAITING, 1) >= 1
    assert await _value(prom, OLDEST, 0.001) > 0
    await case.decide("alice", plan_hash)
    view = await case.done()
    assert view.status == "resolved"
    source = 'source="alertmanager"'
    assert await _value(prom, f'remediator_alerts_received_total{{{source}}}', 3) >= 3
    assert await _value(prom, f'remediator_alerts_deduplicated_total{{{source}}}', 1) >= 1
    assert await _value(prom, f'remediator_alerts_refused_total{{{source},reason="400"}}', 1) == 1
    assert await _value(prom, 'remediator_incidents_opened_total{severity="P2",service="checkout"}',
                        1) == 1
    closed = 'remediator_incidents_closed_total{service="checkout",outcome="automated"}'
    assert await _value(prom, closed, 1) == 1
    flag = 'action="feature_flag.set"'
    assert await _value(prom, f'remediator_mitigations_total{{{flag},outcome="applied"}}', 1) == 1
    # The plan shown for approval was a dry run of the step.
    assert await _value(prom, f'remediator_mitigations_total{{{flag},outcome="dry_run"}}', 1) >= 1
    assert await _value(prom, 'remediator_verifications_total{runbook="test-approval",'
                              'result="passed"}', 1) == 1
    for histogram in ("time_to_first_mitigation", "time_to_acknowledge", "time_to_resolve"):
        assert await _value(prom, f"sum(remediator_{histogram}_seconds_count)", 1) == 1
    # The acknowledgement came before the approval, the mitigation after it.
    ack = await _value(prom, "sum(remediator_time_to_acknowledge_seconds_sum)", 0)
    first = await _value(prom, "sum(remediator_time_to_first_mitigation_seconds_sum)", 0)
    assert 0 <= ack <= first
    # The Temporal SDK's own metrics, through its runtime's Prometheus endpoint: every
    # one the dashboard uses is there.
    assert await _value(prom, "sum(temporal_workflow_completed_total)", 1) >= 1
    for name in sorted(n for n in _dashboard_metric_names() if n.startswith("temporal_")):
        assert await _value(prom, f'count({{__name__="{name}"}})', 1) >= 1, name


def _dashboard_metric_names() -> set[str]:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    assert exprs, "the dashboard has no queries"
    names: set[str] = set()
    for expr in exprs:
        names |= {n for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
                  if n.startswith(("remediator_", "temporal_"))}
    return names


def test_the_dashboard_uses_only_exported_metric_names(settings: Settings) -> None:
    exported = Metrics.for_runbooks(settings.runbook_dir)
    # Labelled metrics export samples once fed; one of each makes every name appear.
    exported.alerts_received.labels("generic").inc()
    exported.alerts_deduplicated.labels("generic").inc()
    exported.alerts_refused.labels("generic", "400").inc()
    exported.incidents_opened.labels("P1", "checkout").inc()
    exported.incidents_closed.labels("P1", "checkout", "automated").inc()
    exported.mitigations.labels("feature_flag.set", "applied").inc()
    exported.verifications.labels("x", "passed").inc()
    exported.time_to_first_mitigation.labels("P1").observe(1)
    exported.time_to_acknowledge.labels("P1").observe(1)
    exported.time_to_resolve.labels("P1", "automated").observe(1)
    names = exported.names() | {WAITING, OLDEST}
    used = _dashboard_metric_names()
    missing = {n for n in used if n.startswith("remediator_") and n not in names}
    assert not missing, f"the dashboard names metrics nobody exports: {missing}"
    # Its Temporal SDK names are checked against a real scrape in the test above.
