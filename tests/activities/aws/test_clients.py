"""The boto3 calls of every AWS activity: what is a refusal, what is left to retry."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import pytest
import redis.asyncio as aioredis
from botocore.config import Config
from botocore.exceptions import ClientError

from activities.aws.asg import AsgActivities
from activities.aws.clients import classify
from activities.support.crash_points import CrashPoints
from activities.support.errors import AuthFailed, Rejected, ResourceNotFound
from remediator.devstack.servers import free_port
from tests.activities.common import apply_req, new_case, run


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


def test_a_worker_loads_boto3_psycopg_and_kubernetes_only_when_it_uses_them() -> None:
    """Six boto3 clients, psycopg and the Kubernetes client cost a worker ~60 MB
    (BENCHMARKS.md): the worker module and its clients import none of them until a call
    needs one."""
    probe = (
        "import sys\n"
        "import workers.main\n"
        "from activities.aws.clients import AwsClients\n"
        "from activities.kubernetes.api import KubeApi\n"
        "clients = AwsClients.from_environment('us-east-1')\n"
        "KubeApi.from_config(None, None)\n"
        "libs = ('boto3', 'botocore', 'psycopg', 'kubernetes')\n"
        "print(sorted(m for m in libs if m in sys.modules))\n"
        "print(clients.ssm.can_paginate('get_parameter_history'))\n"
        "print(sorted(m for m in libs if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={**os.environ, "AWS_ACCESS_KEY_ID": "test",
                                          "AWS_SECRET_ACCESS_KEY": "test"}).stdout.split("\n")
    assert out[:3] == ["[]", "True", "['boto3', 'botocore']"]
