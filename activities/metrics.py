"""Metric sources for verification: Prometheus's HTTP API and CloudWatch GetMetricData.

Every source reads one number for a check, now or as the mean over a past range.
An answer without a usable number — a query error, an empty result, several series
where one was meant, NaN — is a reading with no value, and no value is never a pass.
A source that cannot be reached (connection refused, 5xx, throttling) raises, so
Temporal retries the read; the workflow counts a read that gave up as no data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.aws.clients import call
from activities.support.errors import MitigationRefused
from remediator.models.runbook import Check
from remediator.models.verification import BaselineWindow, MetricReading

log = structlog.get_logger()

# A range read keeps to about this many points, whatever the range's length.
RANGE_POINTS = 240
# "Now" in CloudWatch is the newest datapoint of the last few periods (it lags).
RECENT_PERIODS = 5


class NoData(Exception):
    """The source answered, but with nothing a verdict may rest on."""


class MetricSource(Protocol):
    """Where a check's numbers come from; chosen per check by its ``source``."""

    async def current(self, check: Check) -> float:
        """The check's value now; raises NoData."""
        ...

    async def mean(self, check: Check, start: datetime, end: datetime) -> float:
        """The check's mean over [start, end]; raises NoData."""
        ...


def _number(raw: Any) -> float:
    value = float(raw)
    if math.isnan(value):
        raise NoData("NaN")
    return value


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        raise NoData("no samples in range" if not values else "only NaN in range")
    return sum(finite) / len(finite)


class PrometheusSource:
    """PromQL over the HTTP API: instant queries now, range queries for baselines."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def _data(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        # The base URL may carry credentials (user:password@): keep it out of every message.
        try:
            resp = await self._http.get(f"{self._base}{path}", params=params, timeout=10.0)
        except httpx.HTTPError as exc:
            raise ApplicationError(f"Prometheus {path}: {type(exc).__name__}") from None
        if resp.status_code >= 500:  # unavailable or overloaded: let Temporal retry
            raise ApplicationError(f"Prometheus {path}: HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise NoData(f"HTTP {resp.status_code} from {path}: not a Prometheus API answer") from None
        if body.get("status") != "success":
            raise NoData(f"{body.get('errorType', 'error')}: {body.get('error', resp.text)}")
        data: dict[str, Any] = body["data"]
        return data

    @staticmethod
    def _one(series: list[Any]) -> Any:
        if not series:
            raise NoData("empty result")
        if len(series) > 1:
            raise NoData(f"{len(series)} series; aggregate the query to one (sum, max, …)")
        return series[0]

    async def current(self, check: Check) -> float:
        assert check.query is not None
        data = await self._data("/api/v1/query", {"query": check.query})
        if data["resultType"] == "scalar":
            return _number(data["result"][1])
        if data["resultType"] != "vector":
            raise NoData(f"a {data['resultType']} result; the query must give one number")
        return _number(self._one(data["result"])["value"][1])

    async def mean(self, check: Check, start: datetime, end: datetime) -> float:
        assert check.query is not None
        step = max(1.0, (end - start).total_seconds() / RANGE_POINTS)
        data = await self._data("/api/v1/query_range", {
            "query": check.query, "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}", "step": f"{step:g}"})
        series = self._one(data["result"])
        return _mean([float(v) for _, v in series["values"]])


class CloudWatchSource:
    """GetMetricData on one metric's statistic (boto3 reads AWS_ENDPOINT_URL itself)."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cw = cloudwatch

    async def _values(self, check: Check, start: datetime, end: datetime) -> list[float]:
        """The statistic per period in [start, end], newest first."""
        metric = check.metric
        assert metric is not None
        query = {"Id": "m0", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": metric.namespace, "MetricName": metric.name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in metric.dimensions.items()]},
            "Period": metric.period_seconds, "Stat": metric.stat}}
        values: list[float] = []
        kwargs: dict[str, Any] = {"MetricDataQueries": [query], "StartTime": start, "EndTime": end,
                                  "ScanBy": "TimestampDescending"}
        try:
            while True:
                resp = await call(self._cw.get_metric_data, **kwargs)
                for result in resp["MetricDataResults"]:
                    if result.get("StatusCode") in ("InternalError", "Forbidden"):
                        raise NoData(f"CloudWatch {result['StatusCode']}: {resp.get('Messages')}")
                    values += [float(v) for v in result.get("Values", [])]
                if not resp.get("NextToken"):
                    return values
                kwargs["NextToken"] = resp["NextToken"]
        except MitigationRefused as exc:  # a definite "no" (bad request, auth): not data
            raise NoData(str(exc)) from exc

    async def current(self, check: Check) -> float:
        assert check.metric is not None
        period = timedelta(seconds=check.metric.period_seconds)
        now = datetime.now(UTC)
        # EndTime is exclusive: reach past now so the current period counts.
        values = await self._values(check, now - RECENT_PERIODS * period, now + period)
        if not values:
            raise NoData(f"no datapoints in the last {RECENT_PERIODS} periods")
        return _number(values[0])

    async def mean(self, check: Check, start: datetime, end: datetime) -> float:
        return _mean(await self._values(check, start, end))


class MetricActivities:
    """Reads of verification metrics, from the source each check names."""

    def __init__(self, sources: Mapping[str, MetricSource]) -> None:
        self._sources = dict(sources)

    def _source(self, check: Check) -> MetricSource:
        source = self._sources.get(check.source)
        if source is None:
            raise ApplicationError(f"no metric source {check.source!r} on this worker",
                                   type="NotConfigured", non_retryable=True)
        return source

    @staticmethod
    def _no_data(check: Check, exc: NoData) -> MetricReading:
        log.info("metric.no_data", source=check.source, query=check.label, reason=str(exc))
        return MetricReading(value=None, detail=f"no data: {exc}", at=datetime.now(UTC))

    @activity.defn
    async def read_metric(self, check: Check) -> MetricReading:
        """The check's value now (value None: no data)."""
        try:
            value = await self._source(check).current(check)
        except NoData as exc:
            return self._no_data(check, exc)
        return MetricReading(value=value, detail=f"{value:g}", at=datetime.now(UTC))

    @activity.defn
    async def read_baseline(self, window: BaselineWindow) -> MetricReading:
        """The check's mean over a past range (value None: no data)."""
        try:
            value = await self._source(window.check).mean(window.check, window.start, window.end)
        except NoData as exc:
            return self._no_data(window.check, exc)
        return MetricReading(value=value, detail=f"mean {value:g}", at=datetime.now(UTC))
