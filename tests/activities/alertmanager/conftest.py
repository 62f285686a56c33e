"""One real Alertmanager for these tests (each test uses alertnames of its own), with an
inhibit rule: an alert labelled ``inhibitor=yes`` mutes ``inhibited=yes`` of its case."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.client import Client

from activities.alertmanager.api import AlertmanagerApi
from activities.alertmanager.firing import AlertStateActivities
from activities.alertmanager.incident import IncidentAlerts
from activities.alertmanager.silence import SilenceActivities
from activities.support.crash_points import CrashPoints
from remediator.models.alert import Alert, AlertStatus
from remediator.models.policy import Timings
from tests.support.alertmanager import AlertmanagerServer

ALLOWLIST = ["SilenceTest*"]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def am_api(http: httpx.AsyncClient, alertmanager: AlertmanagerServer) -> AlertmanagerApi:
    return AlertmanagerApi(http, alertmanager.url)


@pytest.fixture
def alert_state(client: Client, am_api: AlertmanagerApi) -> AlertStateActivities:
    return AlertStateActivities(IncidentAlerts(client), am_api)


@pytest.fixture
def silencer(client: Client, am_api: AlertmanagerApi) -> SilenceActivities:
    return SilenceActivities(am_api, IncidentAlerts(client), Timings(), ALLOWLIST,
                             CrashPoints(None))


def case_name(prefix: str = "SilenceTest") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def am_alert(labels: dict[str, str], source: str = "alertmanager",
             status: AlertStatus = AlertStatus.FIRING, fingerprint: str | None = None) -> Alert:
    """An incident's alert as the webhook normalised it (fingerprint: not Alertmanager's,
    as when the sender gave none; the labels then identify it)."""
    return Alert(source=source, name=labels["alertname"], labels=labels, status=status,
                 fingerprint=fingerprint or uuid.uuid4().hex[:16], received_at=datetime.now(UTC))
