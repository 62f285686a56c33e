"""The worker registers every catalogue action's apply and undo, under unchanged names.

Activity type names are recorded in histories and in stored undo records
(``StepOutcome.undo_action``): renaming one strands running incidents, so the names
are pinned here and checked against the recorded histories too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from activities.feature_flags.activities import FlagActivities
from remediator.settings import Settings
from workers.main import activities_for
from workers.registrations import MissingActivityInstance, bind, catalogue_methods
from workflows.catalogue import CATALOGUE, activity_name

HISTORIES = Path(__file__).parents[1] / "replay" / "histories"

# action → (apply, undo) activity type names, as recorded by earlier versions.
NAMES: dict[str, tuple[str, str | None]] = {
    "feature_flag.set": ("set_flag", "restore_flag"),
    "cache.flush": ("flush_cache", None),
    "aws.asg.set_capacity": ("set_asg_capacity", "restore_asg_capacity"),
    "aws.lambda.rollback_alias": ("rollback_lambda_alias", "restore_lambda_alias"),
    "kubernetes.rollout_undo": ("rollback_deployment", "restore_deployment_revision"),
    "kubernetes.scale": ("scale_deployment", "restore_deployment_scale"),
    "kubernetes.restart": ("restart_deployment", None),
    "postgres.cancel_queries": ("cancel_queries", None),
    "postgres.terminate_queries": ("terminate_queries", None),
    "haproxy.drain_server": ("drain_server", "restore_server_state"),
    "haproxy.set_weight": ("set_server_weight", "restore_server_weight"),
    "haproxy.set_maxconn": ("set_server_maxconn", "restore_server_maxconn"),
    "alertmanager.silence": ("create_silence", "expire_silence"),
}


def _recorded_activity_names() -> set[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("activityType"), dict):
                yield str(node["activityType"]["name"])
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return {name for path in HISTORIES.glob("*.json") for name in walk(json.loads(path.read_text()))}


@pytest.fixture
async def registered(settings: Settings, client: Client) -> list[Callable[..., Any]]:
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    async with httpx.AsyncClient() as http:
        try:
            return activities_for(settings, redis_client, http, client)  # type: ignore[return-value]
        finally:
            await redis_client.aclose()


def test_activity_names_of_the_catalogue_are_unchanged() -> None:
    assert {a.name: (a.apply_activity, a.undo_activity) for a in CATALOGUE.values()} == NAMES


async def test_every_catalogue_apply_and_undo_is_registered_bound_to_an_instance(
    registered: list[Callable[..., Any]],
) -> None:
    by_name = {activity_name(fn): fn for fn in registered}
    assert len(by_name) == len(registered), "an activity name is registered twice"
    for method in catalogue_methods():
        fn = by_name[activity_name(method)]
        assert getattr(fn, "__func__", None) is method  # the catalogue's method, bound


async def test_every_activity_in_the_recorded_histories_is_registered(
    registered: list[Callable[..., Any]],
) -> None:
    recorded = _recorded_activity_names()
    assert "set_flag" in recorded  # the recordings do run a mitigation
    assert recorded <= {activity_name(fn) for fn in registered}


def test_a_catalogue_method_without_its_instance_fails_at_start_up() -> None:
    with pytest.raises(MissingActivityInstance, match=r"FlagActivities\.set_flag"):
        bind(FlagActivities.set_flag, [object()])
