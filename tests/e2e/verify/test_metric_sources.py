"""The metric read activities against a real Prometheus and CloudWatch on moto.

No usable number — error, empty, NaN, several series — reads as no data; an
unreachable source raises, so Temporal retries the read.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.metrics import CloudWatchSource, MetricActivities, PrometheusSource
from remediator.devstack.servers import free_port
from remediator.models.runbook import Check, CloudWatchMetric
from remediator.models.verification import BaselineWindow
from tests.e2e.verify.helpers import cloudwatch_history
from tests.support.moto import MotoServer
from tests.support.polling import eventually
from tests.support.prometheus import MetricsExporter, PrometheusServer


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def promql(query: str) -> Check:
    return Check(source="prometheus", query=query, threshold=1.0)


@pytest.fixture
async def scraped(prometheus: PrometheusServer, exporter: MetricsExporter) -> str:
    """A case whose gauge Prometheus has scraped (0.25), as a label value."""
    case = uuid.uuid4().hex[:8]
    exporter.set("app_error_ratio", 0.25, case=case)
    await eventually(lambda: prometheus.value(f'app_error_ratio{{case="{case}"}}'), timeout=30,
                     what="first scrape")
    return case


async def test_prometheus_reads_a_value_now_and_a_mean_over_a_range(
    prometheus: PrometheusServer, http: httpx.AsyncClient, scraped: str,
) -> None:
    metrics = MetricActivities({"prometheus": PrometheusSource(http, prometheus.url)})
    check = promql(f'app_error_ratio{{case="{scraped}"}}')
    now = await metrics.read_metric(check)
    assert now.value == 0.25
    scalar = await metrics.read_metric(promql("1 + 1"))
    assert scalar.value == 2.0
    end = datetime.now(UTC)
    mean = await metrics.read_baseline(BaselineWindow(check=check, start=end - timedelta(seconds=30),
                                                      end=end))
    assert mean.value == 0.25 and mean.detail == "mean 0.25"


@pytest.mark.parametrize(("query", "why"), [
    ('app_error_ratio{case="never-exported"}', "no data: empty result"),
    ("vector(0) / vector(0)", "no data: NaN"),
    ("rate(app_error_ratio[", "no data: bad_data"),
    ('app_error_ratio{case=~"CASE|other"} or vector(1)', "no data: 2 series"),
])
async def test_prometheus_answers_without_a_number_are_no_data(
    prometheus: PrometheusServer, http: httpx.AsyncClient, scraped: str, query: str, why: str,
) -> None:
    metrics = MetricActivities({"prometheus": PrometheusSource(http, prometheus.url)})
    check = promql(query.replace("CASE", scraped))
    reading = await metrics.read_metric(check)
    assert reading.value is None and reading.detail.startswith(why)
    end = datetime.now(UTC)
    past = await metrics.read_baseline(BaselineWindow(check=check, start=end - timedelta(seconds=30),
                                                      end=end))
    assert past.value is None and past.detail.startswith("no data")


async def test_unreachable_prometheus_raises_for_temporal_to_retry_without_the_url(
    http: httpx.AsyncClient,
) -> None:
    url = f"http://reader:pr0m-s3cret@127.0.0.1:{free_port()}"
    metrics = MetricActivities({"prometheus": PrometheusSource(http, url)})
    with pytest.raises(ApplicationError) as info:
        await metrics.read_metric(promql("up"))
    assert not info.value.non_retryable
    assert str(info.value) == "Prometheus /api/v1/query: ConnectError"
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_a_source_the_worker_lacks_is_refused() -> None:
    with pytest.raises(ApplicationError, match="no metric source 'prometheus'"):
        await MetricActivities({}).read_metric(promql("up"))


async def test_cloudwatch_reads_the_newest_datapoint_and_a_mean(moto: MotoServer) -> None:
    case = uuid.uuid4().hex[:8]
    cloudwatch = moto.client("cloudwatch")
    now = await cloudwatch_history(cloudwatch, case, seconds=10)
    check = Check(source="cloudwatch", threshold=1.0, metric=CloudWatchMetric(
        namespace="Remediator/Test", name="ErrorRate", dimensions={"case": case}, period_seconds=1))
    metrics = MetricActivities({"cloudwatch": CloudWatchSource(cloudwatch)})
    assert (await metrics.read_metric(check)).value == 0.01
    mean = await metrics.read_baseline(BaselineWindow(
        check=check, start=now - timedelta(seconds=8), end=now - timedelta(seconds=2)))
    assert mean.value == pytest.approx(0.01)
    missing = check.model_copy(update={"metric": check.metric.model_copy(  # type: ignore[union-attr]
        update={"dimensions": {"case": "never-published"}})})
    reading = await metrics.read_metric(missing)
    assert reading.value is None and reading.detail == "no data: no datapoints in the last 5 periods"
    old = await metrics.read_baseline(BaselineWindow(
        check=check, start=now - timedelta(hours=2), end=now - timedelta(hours=1)))
    assert old.value is None and old.detail == "no data: no samples in range"
