"""feature_flag.set with ``store: ssm``: SSM Parameter Store in moto, same contract as Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from activities.feature_flags.activities import FlagActivities
from activities.feature_flags.redis_store import RedisFlagStore
from activities.feature_flags.ssm_store import SsmFlagStore
from activities.support.crash_points import CrashPoints
from remediator.settings import Settings
from tests.activities.common import (
    apply_req,
    mitigate_across_crash,
    new_case,
    refused,
    run,
    undo_req,
)
from tests.support.moto import MotoServer


@pytest.fixture
def ssm(moto: MotoServer) -> Any:
    return moto.client("ssm")


@pytest.fixture
def store(ssm: Any, settings: Settings) -> SsmFlagStore:
    return SsmFlagStore(ssm, settings.ssm_flag_prefix)


@pytest.fixture
def flags(store: SsmFlagStore, state: aioredis.Redis, settings: Settings) -> FlagActivities:
    stores = {"redis": RedisFlagStore(state), "ssm": store}
    return FlagActivities(stores, settings.flag_allowlist, "production", CrashPoints(None))


def params(case: str, value: str = "off") -> dict[str, str]:
    """A flag in an environment of the test's own, so tests never share a parameter."""
    return {"flag": f"test-{case}", "value": value, "environment": f"env-{case}", "store": "ssm"}


def put(ssm: Any, store: SsmFlagStore, case: str, value: str) -> None:
    ssm.put_parameter(Name=store.name(f"env-{case}", f"test-{case}"), Value=value,
                      Type="String", Overwrite=True)


async def test_set_returns_the_previous_value_and_undo_restores_it(
    flags: FlagActivities, store: SsmFlagStore, ssm: Any
) -> None:
    case = new_case()
    put(ssm, store, case, "on")

    result = await run(flags.set_flag, apply_req(case, "flip", params(case)))

    assert result.applied and "'on' → 'off'" in result.detail and "(ssm)" in result.detail
    assert await store.get(f"env-{case}", f"test-{case}") == "off"
    assert result.undo["old"] == "on" and result.undo["store"] == "ssm"
    undone = await run(flags.restore_flag, undo_req(case, "flip", result.undo))
    assert undone.undone and not undone.conflict
    assert await store.get(f"env-{case}", f"test-{case}") == "on"
    again = await run(flags.restore_flag, undo_req(case, "flip", result.undo))
    assert again.undone
    assert len(await store.history(f"env-{case}", f"test-{case}")) == 3  # on, off, on


async def test_dry_run_reads_and_writes_nothing(
    flags: FlagActivities, store: SsmFlagStore, ssm: Any
) -> None:
    case = new_case()
    put(ssm, store, case, "on")

    result = await run(flags.set_flag, apply_req(case, "flip", params(case), dry_run=True))

    assert result.dry_run and "would set flag" in result.detail and "'on' → 'off'" in result.detail
    assert len(await store.history(f"env-{case}", f"test-{case}")) == 1


async def test_second_apply_writes_no_second_version(
    flags: FlagActivities, store: SsmFlagStore, ssm: Any
) -> None:
    case = new_case()
    put(ssm, store, case, "on")
    first = await run(flags.set_flag, apply_req(case, "flip", params(case)))
    second = await run(flags.set_flag, apply_req(case, "flip", params(case)))

    assert second == first
    assert await store.writes(f"env-{case}", f"test-{case}", f"inc-{case}:flip") == 1
    assert len(await store.history(f"env-{case}", f"test-{case}")) == 2


async def test_undo_reports_a_conflict_instead_of_clobbering_a_later_change(
    flags: FlagActivities, store: SsmFlagStore, ssm: Any
) -> None:
    case = new_case()
    put(ssm, store, case, "on")
    result = await run(flags.set_flag, apply_req(case, "flip", params(case)))
    put(ssm, store, case, "half")  # someone changed it since

    undone = await run(flags.restore_flag, undo_req(case, "flip", result.undo))

    assert undone.conflict and not undone.undone and "'half'" in undone.detail
    assert await store.get(f"env-{case}", f"test-{case}") == "half"


async def test_undo_of_a_flag_that_did_not_exist_deletes_it(
    flags: FlagActivities, store: SsmFlagStore
) -> None:
    case = new_case()
    result = await run(flags.set_flag, apply_req(case, "flip", params(case)))
    assert result.undo["old"] is None

    assert (await run(flags.restore_flag, undo_req(case, "flip", result.undo))).undone
    assert await store.get(f"env-{case}", f"test-{case}") is None
    assert (await run(flags.restore_flag, undo_req(case, "flip", result.undo))).undone


async def test_flag_outside_the_allow_list_is_refused(
    flags: FlagActivities, store: SsmFlagStore
) -> None:
    case = new_case()
    bad = {**params(case), "flag": f"payments-{case}"}
    await refused(flags.set_flag, apply_req(case, "flip", bad), "NotAllowed")
    assert await store.get(f"env-{case}", f"payments-{case}") is None


async def test_a_store_the_worker_lacks_is_refused(
    state: aioredis.Redis, settings: Settings
) -> None:
    only_redis = FlagActivities({"redis": RedisFlagStore(state)}, settings.flag_allowlist,
                                "production", CrashPoints(None))
    case = new_case()
    await refused(only_redis.set_flag, apply_req(case, "flip", params(case)), "Rejected")


async def test_worker_killed_after_the_ssm_write_writes_once(
    settings: Settings, client: Client, moto: MotoServer, store: SsmFlagStore, ssm: Any,
    tmp_path: Path,
) -> None:
    case = new_case()
    put(ssm, store, case, "on")

    async def still_written() -> None:
        assert await store.get(f"env-{case}", f"test-{case}") == "off"

    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "feature_flags.set_flag.after_write", case,
        "feature_flag.set", params(case), still_written)

    assert outcome.state == "applied" and outcome.undo is not None
    assert outcome.undo["old"] == "on"  # not the value the crashed attempt wrote
    assert await store.writes(f"env-{case}", f"test-{case}", f"inc-{case}:step") == 1
