"""boto3 for async activities: calls off the event loop, AWS errors classified once.

boto3 is synchronous, so every call runs in a thread (``asyncio.to_thread``) and the
worker needs no activity executor. What retrying can fix (throttling, 5xx, a
refused or timed-out connection) propagates as is, for Temporal to retry; what it
cannot (bad credentials, a missing resource, an invalid request) becomes a
``MitigationRefused``.

boto3 is imported, and each client built, on first use: six clients cost a worker
~50 MB before any AWS runbook runs (BENCHMARKS.md), and most workers never need most of
them.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from activities.support.errors import AuthFailed, Rejected, ResourceNotFound

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

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
    # Loaded already: ``method`` belongs to a client.
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

    try:
        return await asyncio.to_thread(method, **kwargs)
    except ClientError as exc:
        raise classify(exc) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise AuthFailed(f"no usable AWS credentials: {exc}") from exc
    except NoRegionError as exc:
        raise Rejected(f"no AWS region configured: {exc}") from exc


class LazyClient:
    """A boto3 client built on first use. Its attributes are the client's methods, each
    looked up when called: the first call (made in a thread by ``call``) builds the
    client there — importing boto3 and loading the service model took ~240 ms, which
    the worker's event loop must not wait on."""

    def __init__(self, boto: Boto, service: str) -> None:
        self._boto, self._service = boto, service
        self._made: Any = None
        self._lock = threading.Lock()

    def made(self) -> Any:
        """The boto3 client itself (built now if it was not yet)."""
        with self._lock:
            if self._made is None:
                self._made = self._boto.client(self._service)
            return self._made

    def __getattr__(self, name: str) -> Any:  # only names the proxy itself lacks
        if self._made is not None:
            return getattr(self._made, name)
        return functools.partial(self._method, name)

    def _method(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.made(), name)(*args, **kwargs)


class Boto:
    """One boto3 session for the worker's clients, made when the first client is."""

    def __init__(self, region: str | None) -> None:
        self._region = region
        self._session: Any = None
        self._config: Any = None
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:  # clients may first be needed from two threads
            if self._session is None:
                import boto3
                from botocore.config import Config

                self._session = boto3.session.Session(region_name=self._region)
                self._config = Config(
                    region_name=self._session.region_name or DEFAULT_REGION,
                    connect_timeout=5, read_timeout=30,
                    retries={"mode": "standard", "max_attempts": 3})
            return self._session.client(service, config=self._config)


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the mitigations use, one per worker, each built on first use."""

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
        boto = Boto(region)
        return cls(autoscaling=LazyClient(boto, "autoscaling"), lambda_=LazyClient(boto, "lambda"),
                   ssm=LazyClient(boto, "ssm"), sns=LazyClient(boto, "sns"),
                   s3=LazyClient(boto, "s3"), cloudwatch=LazyClient(boto, "cloudwatch"))
