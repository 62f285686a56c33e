"""boto3 for async activities: calls off the event loop, AWS errors classified once.

boto3 is synchronous, so every call runs in a thread (``asyncio.to_thread``) and the
worker needs no activity executor. What retrying can fix (throttling, 5xx, a
refused or timed-out connection) propagates as is, for Temporal to retry; what it
cannot (bad credentials, a missing resource, an invalid request) becomes a
``MitigationRefused``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

from activities.support.errors import AuthFailed, Rejected, ResourceNotFound

T = TypeVar("T")

AUTH_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "AuthFailure", "ExpiredToken",
    "ExpiredTokenException", "IncompleteSignature", "InvalidAccessKeyId", "InvalidClientTokenId",
    "InvalidSignatureException", "MissingAuthenticationToken", "SignatureDoesNotMatch",
    "UnauthorizedOperation", "UnrecognizedClientException",
})
NOT_FOUND_CODES = frozenset({
    "NoSuchEntity", "NotFoundException", "ParameterNotFound", "ParameterVersionNotFound",
    "ResourceNotFoundException",
})
# 4xx codes that describe a passing condition: another update in progress, a lost race.
TRANSIENT_CODES = frozenset({
    "PreconditionFailedException", "RequestLimitExceeded", "RequestTimeout",
    "RequestTimeoutException", "ResourceConflictException", "ResourceContention",
    "ScalingActivityInProgress", "Throttling", "ThrottlingException", "TooManyRequestsException",
})

DEFAULT_REGION = "us-east-1"


def classify(exc: ClientError) -> Exception:
    """The exception to raise for an AWS error: a refusal, or the error itself (retry)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = f"{code}: {error.get('Message', '')}"
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in AUTH_CODES:
        return AuthFailed(message)
    if code in NOT_FOUND_CODES:
        return ResourceNotFound(message)
    if code in TRANSIENT_CODES or status >= 500:
        retry: Exception = exc
        return retry
    return Rejected(message)


async def call(method: Callable[..., T], **kwargs: Any) -> T:
    """Run one boto3 call in a thread; refusals become ``MitigationRefused``."""
    try:
        return await asyncio.to_thread(method, **kwargs)
    except ClientError as exc:
        raise classify(exc) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise AuthFailed(f"no usable AWS credentials: {exc}") from exc
    except NoRegionError as exc:
        raise Rejected(f"no AWS region configured: {exc}") from exc


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the mitigations use, built once per worker."""

    autoscaling: Any
    lambda_: Any
    ssm: Any
    sns: Any = None
    s3: Any = None
    cloudwatch: Any = None

    @classmethod
    def from_environment(cls, region: str | None = None) -> AwsClients:
        """Clients from the standard AWS environment (credentials, ``AWS_ENDPOINT_URL``).

        Bounded timeouts and botocore's standard retries keep one call well inside an
        activity's start-to-close timeout; Temporal retries beyond that.
        """
        session = boto3.session.Session(region_name=region)
        config = Config(
            region_name=session.region_name or DEFAULT_REGION,
            connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3},
        )
        return cls(
            autoscaling=session.client("autoscaling", config=config),
            lambda_=session.client("lambda", config=config),
            ssm=session.client("ssm", config=config),
            sns=session.client("sns", config=config),
            s3=session.client("s3", config=config),
            cloudwatch=session.client("cloudwatch", config=config),
        )
