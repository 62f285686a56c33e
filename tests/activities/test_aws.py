"""aws.asg.set_capacity and aws.lambda.rollback_alias against moto in server mode."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis.asyncio as aioredis
from botocore.config import Config
from botocore.exceptions import ClientError
from temporalio.client import Client

from activities.aws.asg import AsgActivities, LambdaActivities
from activities.aws.clients import classify
from activities.support.crash_points import CrashPoints
from activities.support.errors import AuthFailed, Rejected, ResourceNotFound
from remediator.devstack.servers import free_port
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
def lambda_(moto: MotoServer) -> Any:
    return moto.client("lambda")


@pytest.fixture
def asg(autoscaling: Any, state: aioredis.Redis, settings: Settings) -> AsgActivities:
    return AsgActivities(autoscaling, state, settings.asg_allowlist, settings.asg_max_capacity,
                         CrashPoints(None))


@pytest.fixture
def lambdas(lambda_: Any, settings: Settings) -> LambdaActivities:
    return LambdaActivities(lambda_, settings.lambda_allowlist, CrashPoints(None))


def make_group(autoscaling: Any, name: str, desired: int = 2, max_size: int = 6) -> None:
    autoscaling.create_launch_configuration(LaunchConfigurationName=f"lc-{name}",
                                            ImageId="ami-12c6146b", InstanceType="t2.micro")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchConfigurationName=f"lc-{name}", MinSize=1,
        MaxSize=max_size, DesiredCapacity=desired, AvailabilityZones=["us-east-1a"])


def desired(autoscaling: Any, name: str) -> int:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return int(groups["AutoScalingGroups"][0]["DesiredCapacity"])


def make_function(moto: MotoServer, name: str, versions: int = 3) -> None:
    """A function with versions 1..N published and alias ``live`` on the newest."""
    role = moto.client("iam").create_role(RoleName=f"role-{name}",
                                          AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = moto.client("lambda")
    for n in range(versions):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("h.py", f"def h(e, c):\n    return {n}\n")
        if n == 0:
            lam.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                Handler="h.h", Code={"ZipFile": buf.getvalue()})
        else:
            lam.update_function_code(FunctionName=name, ZipFile=buf.getvalue())
        lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=str(versions),
                     Description="production traffic")


def alias(lambda_: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = lambda_.get_alias(FunctionName=name, Name="live")
    return found


# ---------------------------------------------------------------- Auto Scaling


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


# ---------------------------------------------------------------- Lambda


async def test_lambda_rollback_returns_the_replaced_version_and_undo_restores_it(
    lambdas: LambdaActivities, lambda_: Any, moto: MotoServer
) -> None:
    case = new_case()
    make_function(moto, f"test-fn-{case}")
    params = {"function": f"test-fn-{case}", "alias": "live", "version": "2"}
    result = await run(lambdas.rollback_lambda_alias, apply_req(case, "rb", params))

    assert result.applied and "version 3 → 2" in result.detail
    assert alias(lambda_, f"test-fn-{case}")["FunctionVersion"] == "2"
    assert result.undo is not None and result.undo["old"] == "3"
    undone = await run(lambdas.restore_lambda_alias, undo_req(case, "rb", result.undo))
    assert undone.undone
    assert alias(lambda_, f"test-fn-{case}")["FunctionVersion"] == "3"
    assert alias(lambda_, f"test-fn-{case}")["Description"] == "production traffic"


async def test_lambda_dry_run_changes_nothing(
    lambdas: LambdaActivities, lambda_: Any, moto: MotoServer
) -> None:
    case = new_case()
    make_function(moto, f"test-fn-{case}")
    params = {"function": f"test-fn-{case}", "alias": "live", "version": "1"}
    result = await run(lambdas.rollback_lambda_alias, apply_req(case, "rb", params, dry_run=True))
    assert result.dry_run and "would call UpdateAlias" in result.detail
    assert "version 3 → 1" in result.detail
    assert alias(lambda_, f"test-fn-{case}")["FunctionVersion"] == "3"
    assert moto.rest_calls("PUT", f"/functions/test-fn-{case}/aliases/live") == 0


async def test_lambda_second_apply_makes_no_second_call(
    lambdas: LambdaActivities, moto: MotoServer
) -> None:
    case = new_case()
    make_function(moto, f"test-fn-{case}")
    params = {"function": f"test-fn-{case}", "alias": "live", "version": "1"}
    first = await run(lambdas.rollback_lambda_alias, apply_req(case, "rb", params))
    second = await run(lambdas.rollback_lambda_alias, apply_req(case, "rb", params))
    assert first == second and first.undo is not None and first.undo["old"] == "3"
    assert moto.rest_calls("PUT", f"/functions/test-fn-{case}/aliases/live") == 1


async def test_lambda_undo_reports_a_conflict_instead_of_clobbering(
    lambdas: LambdaActivities, lambda_: Any, moto: MotoServer
) -> None:
    case = new_case()
    make_function(moto, f"test-fn-{case}")
    params = {"function": f"test-fn-{case}", "alias": "live", "version": "2"}
    result = await run(lambdas.rollback_lambda_alias, apply_req(case, "rb", params))
    lambda_.update_alias(FunctionName=f"test-fn-{case}", Name="live", FunctionVersion="1")
    undone = await run(lambdas.restore_lambda_alias, undo_req(case, "rb", result.undo))
    assert undone.conflict and "moved to version 1" in undone.detail
    assert alias(lambda_, f"test-fn-{case}")["FunctionVersion"] == "1"


async def test_lambda_refusals(lambdas: LambdaActivities, moto: MotoServer) -> None:
    case = new_case()
    make_function(moto, f"test-fn-{case}")
    make_function(moto, f"billing-{case}")
    params = {"function": f"billing-{case}", "alias": "live", "version": "1"}
    await refused(lambdas.rollback_lambda_alias, apply_req(case, "rb", params), "NotAllowed")
    missing = {"function": f"test-fn-{case}", "alias": "live", "version": "9"}
    await refused(lambdas.rollback_lambda_alias, apply_req(case, "rb", missing),
                  "ResourceNotFound")
    latest = {"function": f"test-fn-{case}", "alias": "live", "version": "$LATEST"}
    await refused(lambdas.rollback_lambda_alias, apply_req(case, "rb", latest), "InvalidParams")


async def test_worker_killed_after_alias_update_calls_aws_once(
    settings: Settings, client: Client, moto: MotoServer, lambda_: Any, tmp_path: Path
) -> None:
    case = new_case()
    make_function(moto, f"test-fn-{case}")
    outcome = await mitigate_across_crash(
        client, settings, tmp_path, "aws.rollback_lambda_alias.after_write", case,
        "aws.lambda.rollback_alias", {"function": f"test-fn-{case}", "alias": "live",
                                      "version": "1"})
    assert outcome.state == "applied" and outcome.undo is not None
    assert outcome.undo["old"] == "3"  # not the version the crashed attempt set
    assert alias(lambda_, f"test-fn-{case}")["FunctionVersion"] == "1"
    assert moto.rest_calls("PUT", f"/functions/test-fn-{case}/aliases/live") == 1


# ---------------------------------------------------------------- errors


async def test_unreachable_aws_is_retried_not_refused(state: aioredis.Redis) -> None:
    nowhere = boto3.client(
        "autoscaling", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    activities = AsgActivities(nowhere, state, ["test-asg-*"], 8, CrashPoints(None))
    req = apply_req(new_case(), "s", {"group": "test-asg-x", "desired": 1})
    with pytest.raises(Exception) as info:
        await run(activities.set_asg_capacity, req)
    assert "ApplicationError" not in type(info.value).__name__
    assert "connect" in str(info.value).lower()


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize("code, status, kind", [
    ("AccessDeniedException", 403, AuthFailed), ("UnrecognizedClientException", 403, AuthFailed),
    ("ResourceNotFoundException", 404, ResourceNotFound), ("ValidationError", 400, Rejected),
    ("ThrottlingException", 400, ClientError), ("InternalFailure", 500, ClientError),
    ("ResourceConflictException", 409, ClientError),
])
def test_aws_errors_are_classified(code: str, status: int, kind: type[Exception]) -> None:
    assert isinstance(classify(_client_error(code, status)), kind)
