"""aws.asg.set_capacity against moto in server mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from temporalio.client import Client

from activities.aws.asg import AsgActivities
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
def autoscaling(moto: MotoServer) -> Any:
    return moto.client("autoscaling")


@pytest.fixture
def asg(autoscaling: Any, state: aioredis.Redis, settings: Settings) -> AsgActivities:
    return AsgActivities(autoscaling, state, settings.asg_allowlist, settings.asg_max_capacity,
                         CrashPoints(None))


def make_group(autoscaling: Any, name: str, desired: int = 2, max_size: int = 6) -> None:
    autoscaling.create_launch_configuration(LaunchConfigurationName=f"lc-{name}",
                                            ImageId="ami-12c6146b", InstanceType="t2.micro")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchConfigurationName=f"lc-{name}", MinSize=1,
        MaxSize=max_size, DesiredCapacity=desired, AvailabilityZones=["us-east-1a"])


def desired(autoscaling: Any, name: str) -> int:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return int(groups["AutoScalingGroups"][0]["DesiredCapacity"])


async def test_asg_capacity_set_returns_the_old_value_and_undo_restores_it(
    asg: AsgActivities, autoscaling: Any
) -> None:
    case = new_case()
    make_group(autoscaling, f"test-asg-{case}")
    result = await run(asg.set_asg_capacity,
                       apply_req(case, "scale", {"group": f"test-asg-{case}", "desired": 4}))

    assert result.applied and ": 2 → 4" in result.detail
    assert desired(autoscaling, f"test-asg-{case}") == 4
    assert result.undo == {"group": f"test-asg-{case}", "old": 2, "expected": 4}
    undone = await run(asg.restore_asg_capacity, undo_req(case, "scale", result.undo))
    assert undone.undone and desired(autoscaling, f"test-asg-{case}") == 2


@pytest.mark.parametrize("max_size, want, why", [(6, 6, "MaxSize 6"),
                                                  (20, 8, "REMEDIATOR_ASG_MAX_CAPACITY 8")])
async def test_asg_capacity_is_capped(
    asg: AsgActivities, autoscaling: Any, max_size: int, want: int, why: str
) -> None:
    case = new_case()
    make_group(autoscaling, f"test-asg-{case}", max_size=max_size)
    result = await run(asg.set_asg_capacity,
                       apply_req(case, "scale", {"group": f"test-asg-{case}", "desired": 50}))
    assert desired(autoscaling, f"test-asg-{case}") == want
    assert f"2 → {want} (requested 50" in result.detail and why in result.detail


async def test_asg_dry_run_names_the_call_and_changes_nothing(
    asg: AsgActivities, autoscaling: Any, moto: MotoServer
) -> None:
    case = new_case()
    make_group(autoscaling, f"test-asg-{case}")
    req = apply_req(case, "scale", {"group": f"test-asg-{case}", "desired": 5}, dry_run=True)
    result = await run(asg.set_asg_capacity, req)
    assert result.dry_run and "would call SetDesiredCapacity" in result.detail
    assert "2 → 5" in result.detail and desired(autoscaling, f"test-asg-{case}") == 2
    assert moto.query_calls("SetDesiredCapacity", AutoScalingGroupName=f"test-asg-{case}") == 0


async def test_asg_second_apply_makes_no_second_call(
    asg: AsgActivities, autoscaling: Any, moto: MotoServer
) -> None:
    case = new_case()
    make_group(autoscaling, f"test-asg-{case}")
    req = apply_req(case, "scale", {"group": f"test-asg-{case}", "desired": 3})
    first = await run(asg.set_asg_capacity, req)
    second = await run(asg.set_asg_capacity, req)
    assert first == second and first.undo is not None and first.undo["old"] == 2
    assert moto.query_calls("SetDesiredCapacity", AutoScalingGroupName=f"test-asg-{case}") == 1


async def test_asg_undo_reports_a_conflict_instead_of_clobbering(
    asg: AsgActivities, autoscaling: Any
) -> None:
    case = new_case()
    make_group(autoscaling, f"test-asg-{case}")
    result = await run(asg.set_asg_capacity,
                       apply_req(case, "scale", {"group": f"test-asg-{case}", "desired": 4}))
    autoscaling.set_desired_capacity(AutoScalingGroupName=f"test-asg-{case}", DesiredCapacity=5)
    undone = await run(asg.restore_asg_capacity, undo_req(case, "scale", result.undo))
    assert undone.conflict and not undone.undone and "changed to 5" in undone.detail
    assert desired(autoscaling, f"test-asg-{case}") == 5


async def test_asg_refusals(asg: AsgActivities, autoscaling: Any) -> None:
    case = new_case()
    make_group(autoscaling, f"prod-asg-{case}")
    await refused(asg.set_asg_capacity,
                  apply_req(case, "s", {"group": f"prod-asg-{case}", "desired": 4}), "NotAllowed")
    assert desired(autoscaling, f"prod-asg-{case}") == 2
    await refused(asg.set_asg_capacity,
                  apply_req(case, "s", {"group": f"test-asg-{case}", "desired": 4}),
                  "ResourceNotFound")


async def test_worker_killed_after_set_capacity_calls_aws_once(
    settings: Settings, client: Client, moto: MotoServer, autoscaling: Any, tmp_path: Path
) -> None:
    case = new_case()
    group = f"test-asg-{case}"
    make_group(autoscaling, group)
    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "aws.set_asg_capacity.after_write", case,
        "aws.asg.set_capacity", {"group": group, "desired": 5})
    assert outcome.state == "applied" and outcome.undo == {"group": group, "old": 2, "expected": 5}
    assert desired(autoscaling, group) == 5
    assert moto.query_calls("SetDesiredCapacity", AutoScalingGroupName=group) == 1
