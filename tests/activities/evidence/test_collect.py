"""The evidence bundle from every source at once, each against its real server; a source
that refuses or is slow is one line, and the budget keeps what answered in time."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.evidence.aws import AsgEvidence, LambdaEvidence
from activities.evidence.collect import EvidenceActivities, Source
from activities.evidence.flags import RedisFlagEvidence, SsmFlagEvidence
from activities.evidence.postgres import PostgresEvidence
from activities.evidence.request import EvidenceRequest
from activities.evidence.series import SeriesEvidence
from activities.evidence.store import ArtefactStore
from activities.feature_flags.redis_store import RedisFlagStore
from activities.feature_flags.ssm_store import SsmFlagStore
from activities.postgres.databases import PostgresDatabases
from activities.runbooks import RunbookActivities
from remediator.models.mitigation import MitigationStep
from remediator.models.policy import IncidentPolicy
from tests.activities.aws.test_asg import make_group
from tests.activities.aws.test_lambda_alias import make_function
from tests.support.moto import MotoServer
from tests.support.polling import eventually
from tests.support.postgres import PostgresServer, sessions
from tests.support.prometheus import MetricsExporter, PrometheusServer
from workflows.catalogue import lookup

ENV = "production"
RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def _request(case: str, steps: list[MitigationStep], query: str | None = None) -> EvidenceRequest:
    return EvidenceRequest(
        incident_id=f"INC-{case}", occurrence=f"INC-{case}@run", service=case,
        onset=datetime.now(UTC), labels={"service": case}, environment=ENV,
        verify_queries=[query] if query else [], steps=steps)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_every_source_answers_from_its_own_server(
    state: aioredis.Redis, moto: MotoServer, postgres: PostgresServer,
    evidence_prometheus: PrometheusServer, evidence_exporter: MetricsExporter, tmp_path: Path,
) -> None:
    case = uuid.uuid4().hex[:8]
    fn, group, flag = f"test-fn-{case}", f"test-asg-{case}", f"checkout-{case}"
    flags = RedisFlagStore(state)
    await flags.set_once(ENV, flag, "on", f"deploy-bot:{case}", "manual")  # someone's flip
    ssm = moto.client("ssm")
    ssm.put_parameter(Name=f"/evidence-{case}/{ENV}/beta", Value="off", Type="String")
    ssm.put_parameter(Name=f"/evidence-{case}/{ENV}/beta", Value="on", Type="String",
                      Overwrite=True)
    make_function(moto, fn, versions=2)
    autoscaling = moto.client("autoscaling")
    make_group(autoscaling, group)
    autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=3)
    evidence_exporter.set("evidence_errors", 1.0, case=case)
    query = f'max(evidence_errors{{case="{case}"}})'
    await eventually(lambda: evidence_prometheus.value(query), timeout=20, what="a sample")
    steps = [MitigationStep(id="flag", action="feature_flag.set",
                            params={"flag": flag, "value": "off"}),
             MitigationStep(id="fn", action="aws.lambda.rollback_alias",
                            params={"function": fn, "alias": "live", "version": "1"}),
             MitigationStep(id="asg", action="aws.asg.set_capacity",
                            params={"group": group, "desired": 4}),
             MitigationStep(id="pg", action="postgres.cancel_queries",
                            params={"database": "shop", "min_duration_seconds": 1})]
    databases = PostgresDatabases({"shop": SecretStr(postgres.dsn("shop"))})
    async with httpx.AsyncClient() as http, sessions(postgres) as db:
        await db.sleep(f"long-{case}", seconds=60)
        holder, waiter = await _lock_wait(postgres, case)
        sources: list[Source] = [
            RedisFlagEvidence(flags),
            SsmFlagEvidence(ssm, SsmFlagStore(ssm, f"/evidence-{case}"), lambda: True),
            LambdaEvidence(moto.client("lambda")), AsgEvidence(autoscaling),
            PostgresEvidence(databases), SeriesEvidence(http, evidence_prometheus.url)]
        collector = EvidenceActivities(sources, state, ArtefactStore(tmp_path), 20)
        found = await ActivityEnvironment().run(collector.collect_evidence,
                                                _request(case, steps, query))
        waiter.cancel()
        await holder.close()

    notes = {n.source: n for n in found.sources}
    assert all(n.ok for n in notes.values()), notes
    # The session's Redis is shared: other tests' flips in production are counted too.
    assert " flag change(s) in the 24 h before onset" in notes["flags"].detail
    assert "2 parameter version(s)" in notes["parameters"].detail
    assert f"{fn}: 2 published version(s), alias live → version 2" in notes["lambda"].detail
    assert f"{group}:" in notes["autoscaling"].detail
    assert "non-idle session(s), oldest" in notes["postgres"].detail
    assert f"long-{case}" in notes["postgres"].detail
    assert "1 lock(s) not granted, blocked by pid" in notes["postgres"].detail
    assert "peak 1" in notes["metrics"].detail
    kinds = {c.kind for c in found.changes}
    assert {"flag", "parameter", "lambda"} <= kinds, found.changes
    assert found.suspect is not None and found.main_query == query
    bundle = json.loads(Path(str(found.artefact)).read_text())
    assert any(e["flag"] == flag for e in bundle["sources"]["flags"]["flag_log"])
    [series] = bundle["sources"]["metrics"]["series"]
    assert series["query"] == query and series["series"][0]["points"]
    assert len(json.dumps(found.model_dump(mode="json"))) < 8000  # small enough for history


async def _lock_wait(postgres: PostgresServer, case: str
                     ) -> tuple[psycopg.AsyncConnection[Any], asyncio.Task[Any]]:
    """One session holds a table lock, another waits for it (a lock not granted)."""
    admin = postgres.admin_dsn("shop")
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as setup:
        await setup.execute(f"CREATE TABLE t_{case} (id int)")
        await setup.execute(f"GRANT SELECT ON t_{case} TO app")
    holder = await psycopg.AsyncConnection.connect(admin)
    await holder.execute(f"LOCK TABLE t_{case} IN ACCESS EXCLUSIVE MODE")
    other = await psycopg.AsyncConnection.connect(postgres.dsn("shop", "app"), autocommit=True)

    async def wait() -> None:
        try:
            await other.execute(f"SELECT * FROM t_{case}")
        finally:
            await other.close()

    return holder, asyncio.create_task(wait())


async def test_a_slow_source_is_cut_off_at_the_budget_and_the_rest_kept(
    state: aioredis.Redis, silent_port: int, tmp_path: Path,
) -> None:
    case = uuid.uuid4().hex[:8]
    flags = RedisFlagStore(state)
    await flags.set_once(ENV, f"checkout-{case}", "on", f"human:{case}", "manual")
    async with httpx.AsyncClient() as http:
        sources: list[Source] = [RedisFlagEvidence(flags),
                                 SeriesEvidence(http, f"http://127.0.0.1:{silent_port}")]
        collector = EvidenceActivities(sources, state, ArtefactStore(tmp_path), 1.5)
        began = time.monotonic()
        found = await ActivityEnvironment().run(collector.collect_evidence,
                                                _request(case, [], "sum(up)"))
    assert time.monotonic() - began < 5
    notes = {n.source: n for n in found.sources}
    assert not notes["metrics"].ok and "within the 1.5 s budget" in notes["metrics"].detail
    assert notes["flags"].ok and found.suspect is not None
    assert "unavailable (no answer within the 1.5 s budget)" in found.text()


async def test_refusing_and_unconfigured_sources_are_one_line_each(
    state: aioredis.Redis, tmp_path: Path,
) -> None:
    case = uuid.uuid4().hex[:8]
    steps = [MitigationStep(id="pg", action="postgres.cancel_queries",
                            params={"database": "orders", "min_duration_seconds": 1})]
    async with httpx.AsyncClient() as http:
        sources: list[Source] = [SeriesEvidence(http, f"http://127.0.0.1:{_closed_port()}"),
                                 PostgresEvidence(PostgresDatabases({}))]
        collector = EvidenceActivities(sources, state, ArtefactStore(tmp_path / "x"), 10)
        found = await ActivityEnvironment().run(collector.collect_evidence,
                                                _request(case, steps, "sum(up)"))
    notes = {n.source: n for n in found.sources}
    assert notes["metrics"].line() == "metrics: unavailable (PrometheusUnavailable: Prometheus: ConnectError)"
    assert not notes["postgres"].ok and "'orders' is not configured" in notes["postgres"].detail
    assert all("Traceback" not in n.detail and "\n" not in n.detail for n in found.sources)
    assert found.suspect is None and found.suspect_line().startswith("no change found")
    assert found.onset - timedelta(seconds=5) < found.collected_at


async def test_ssm_is_read_only_where_a_runbook_keeps_flags_there(
    state: aioredis.Redis, moto: MotoServer, tmp_path: Path,
) -> None:
    """A team without SSM flags pays no AWS call (nor boto3's memory) on each triage; the
    incident's own SSM flag, or any runbook's, makes the history evidence again."""
    case = uuid.uuid4().hex[:8]
    ssm = moto.client("ssm")
    ssm.put_parameter(Name=f"/evidence-{case}/{ENV}/beta", Value="on", Type="String")
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    shutil.copy(RUNBOOKS / "test-flag.yaml", runbooks / "flag.yaml")
    catalogue = RunbookActivities(runbooks, IncidentPolicy(), lookup)
    source = SsmFlagEvidence(ssm, SsmFlagStore(ssm, f"/evidence-{case}"),
                             catalogue.keep_flags_in_ssm)
    redis_flag = [MitigationStep(id="flag", action="feature_flag.set",
                                 params={"flag": "beta", "value": "off"})]
    ssm_flag = [MitigationStep(id="flag", action="feature_flag.set",
                               params={"flag": "beta", "value": "off", "store": "ssm"})]

    async def line(steps: list[MitigationStep]) -> str:
        collector = EvidenceActivities([source], state, ArtefactStore(tmp_path / "x"), 10)
        found = await ActivityEnvironment().run(collector.collect_evidence, _request(case, steps))
        [note] = found.sources
        assert note.ok, note
        return note.detail

    assert await line(redis_flag) == "no runbook keeps flags in SSM"
    assert await line(ssm_flag) == "1 parameter version(s) in the 24 h before onset"
    text = (RUNBOOKS / "test-flag.yaml").read_text()
    (runbooks / "ssm.yaml").write_text(
        text.replace("name: ", "name: ssm-", 1).replace('value: "off"', 'value: "off"\n      store: ssm'))
    assert catalogue.keep_flags_in_ssm()
    assert await line(redis_flag) == "1 parameter version(s) in the 24 h before onset"
    (runbooks / "ssm.yaml").write_text("name: [broken")
    assert catalogue.keep_flags_in_ssm()  # it may: read rather than miss a flip
