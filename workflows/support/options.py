"""Retry and timeout policies for activities, in one place so workflows stay readable."""

from __future__ import annotations

from datetime import timedelta
from typing import NotRequired, TypedDict

from temporalio.common import Priority, RetryPolicy


class ActivityOptions(TypedDict):
    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    heartbeat_timeout: NotRequired[timedelta]


class LocalActivityOptions(TypedDict):
    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy


def local(options: ActivityOptions) -> LocalActivityOptions:
    """The same timeout and retries for a local activity (no heartbeats there)."""
    return LocalActivityOptions(start_to_close_timeout=options["start_to_close_timeout"],
                                retry_policy=options["retry_policy"])


# Connection errors and timeouts retry with backoff; refusals are raised
# non-retryable by the activities themselves.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)

# Under a burst of alerts, tasks wait in the server's queues: what restores service
# goes first, telling people next, paperwork last (1 is first; 3 is Temporal's default).
# Activities inherit their workflow's priority unless given one.
MITIGATION = Priority(priority_key=1)
CRITICAL_PATH = Priority(priority_key=2)
MESSAGES = Priority(priority_key=3)
PAPERWORK = Priority(priority_key=4)

# Lookups that read config or files: quick, and quick to retry after a crash.
LOOKUP = ActivityOptions(start_to_close_timeout=timedelta(seconds=10), retry_policy=RETRY)


def side_effect(timeout_seconds: float, attempts: int = 0,
                heartbeat_seconds: float | None = None) -> ActivityOptions:
    """Options for an activity that changes a real system (``attempts`` 0 = unlimited);
    ``heartbeat_seconds`` for one that heartbeats while it waits."""
    policy = RetryPolicy(
        initial_interval=RETRY.initial_interval,
        backoff_coefficient=RETRY.backoff_coefficient,
        maximum_interval=RETRY.maximum_interval,
        maximum_attempts=attempts,
    )
    options = ActivityOptions(start_to_close_timeout=timedelta(seconds=timeout_seconds),
                              retry_policy=policy)
    if heartbeat_seconds is not None:
        options["heartbeat_timeout"] = timedelta(seconds=heartbeat_seconds)
    return options
