"""Receivers and settings for the communications tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from remediator.settings import Settings, SinkConfig
from tests.e2e.comms.helpers import CADENCE
from tests.support.moto import MotoServer
from tests.support.receivers import SmtpReceiver, WebhookReceiver


@pytest.fixture
def slack() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def sns_queue(moto: MotoServer) -> tuple[str, str]:
    """An SNS topic with an SQS queue subscribed, to read what was published."""
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic = sns.create_topic(Name=f"incidents-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
    return topic, queue_url


@pytest.fixture
def comms(settings: Settings, slack: WebhookReceiver, smtp: SmtpReceiver,
          sns_queue: tuple[str, str]) -> Settings:
    sinks = [
        SinkConfig(name="slack", kind="slack", url=slack.url),
        SinkConfig(name="mail", kind="email", smtp_port=smtp.port, recipients=["sre@example.com"]),
        SinkConfig(name="sns", kind="sns", topic_arn=sns_queue[0], severities=["P0", "P1", "P2"]),
    ]
    overrides: dict[str, Any] = {
        "cadence_seconds": {"P0": CADENCE, "P1": CADENCE, "P2": CADENCE, "P3": CADENCE},
        "page_again_seconds": 3600, "escalate_after_seconds": {}, "matrix": [],
        "customer_cadence_seconds": 3600,
    }
    return settings.model_copy(update={
        "sinks": sinks, "comms_overrides": overrides, "oncall": "alice",
        "verify_window_p2_p3_seconds": 5.0, "verify_interval_seconds": 1.0,
        "sticky_timeout_seconds": 1.0})



