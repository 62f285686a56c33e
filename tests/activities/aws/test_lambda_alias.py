"""aws.lambda.rollback_alias against moto in server mode."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from activities.aws.lambda_alias import LambdaActivities
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
def lambda_(moto: MotoServer) -> Any:
    return moto.client("lambda")


@pytest.fixture
def lambdas(lambda_: Any, settings: Settings) -> LambdaActivities:
    return LambdaActivities(lambda_, settings.lambda_allowlist, CrashPoints(None))


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
