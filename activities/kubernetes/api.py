"""The Kubernetes API for async activities: raw JSON in and out, errors classified once.

The ``kubernetes`` client is synchronous, so every call runs in a thread
(``asyncio.to_thread``). Objects are read and patched as plain JSON (no model
round-trip), so a pod template copied from a ReplicaSet back into its Deployment is
exactly what the API server stored.

Errors: 401/403 (credentials, RBAC) and 404 become refusals that retrying cannot fix;
400/422 too (an invalid request). A 409 — someone wrote the object since we read it —
is ``Conflict``: the activity reads afresh and decides again. Throttling, 5xx and
connection errors propagate as they are, for Temporal to retry.

The ApiClient is built on first use, from the kubeconfig (``KUBECONFIG``, else
``~/.kube/config``) or else the in-cluster service account, so a worker with no
Kubernetes at all still starts and only Kubernetes steps are refused.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from activities.support.errors import AuthFailed, NotAllowed, Rejected, ResourceNotFound
from activities.support.params import Params

if TYPE_CHECKING:  # imported on first use, in the call's thread: ~15 MB a worker that
    # never talks to Kubernetes should not hold, and an import the event loop need not wait on
    from kubernetes.client import ApiClient
    from kubernetes.client.exceptions import ApiException

T = TypeVar("T")
Obj = dict[str, Any]

DEFAULT_KUBECONFIG = "~/.kube/config"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
# (connect, read) seconds: one call stays well inside an activity's timeout.
REQUEST_TIMEOUT = (5.0, 30.0)
CONFLICT_ATTEMPTS = 5


# Names reach the API as URL path segments: no "/" or whitespace (runbooks may still use
# ``${labels.X}`` placeholders, which are filled in before the activity validates again).
KUBE_NAME = r"^[^/\s]{1,253}$"


class KubeDeploymentParams(Params):
    """A Deployment, by ``namespace`` and ``deployment`` name."""

    namespace: str = Field(pattern=KUBE_NAME)
    deployment: str = Field(pattern=KUBE_NAME)

    def target(self) -> str:
        return f"kubernetes:{self.namespace}/{self.deployment}"

    def cap_scope(self) -> str:
        return f"kubernetes:{self.namespace}"


class Conflict(Exception):
    """409: the object changed between our read and our write; read again and redecide."""


class RevisionNotFound(ResourceNotFound):
    kind = "RevisionNotFound"


class KubeNotConfigured(Rejected):
    kind = "KubeNotConfigured"


def classify(exc: ApiException) -> Exception:
    """The exception to raise for an API error: a refusal, a ``Conflict``, or itself (retry)."""
    status = int(exc.status or 0)
    try:
        message = str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, AttributeError):
        message = str(exc.reason)
    text = f"Kubernetes API {status} {exc.reason}: {message}"
    if status in (401, 403):
        return AuthFailed(text)
    if status == 404:
        return ResourceNotFound(text)
    if status == 409:
        return Conflict(text)
    if status == 429 or status >= 500 or status == 0:
        return exc
    return Rejected(text)


def check_allowed(namespace: str, deployment: str, allowlist: list[str]) -> None:
    """Raise ``NotAllowed`` unless ``namespace/deployment`` fits a pattern of the allow-list."""
    if not deployment_allowed(namespace, deployment, allowlist):
        raise NotAllowed(f"Deployment {namespace}/{deployment} is not on the allow-list "
                         "(REMEDIATOR_KUBE_ALLOWLIST)")


def deployment_allowed(namespace: str, deployment: str, allowlist: list[str]) -> bool:
    """Whether ``namespace/deployment`` fits a pattern of the allow-list."""
    return any(fnmatchcase(f"{namespace}/{deployment}", p) for p in allowlist)


def namespace_allowed(namespace: str, allowlist: list[str]) -> bool:
    """Whether any Deployment of ``namespace`` could be on the allow-list."""
    return any(fnmatchcase(namespace, p.split("/", 1)[0]) for p in allowlist)


async def fresh_reads(attempt: Callable[[], Awaitable[T]], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run read-decide-write ``attempt`` again after each 409, up to ``attempts`` times."""
    for _ in range(attempts - 1):
        try:
            return await attempt()
        except Conflict:
            await asyncio.sleep(0.2)
    return await attempt()  # a last Conflict propagates: Temporal retries the activity


def load_api_client(kubeconfig: str | None, context: str | None) -> ApiClient:
    """An ApiClient from the kubeconfig, else the in-cluster service account."""
    from kubernetes import config
    from kubernetes.client import ApiClient, Configuration

    path = kubeconfig or DEFAULT_KUBECONFIG
    try:
        if kubeconfig or Path(path).expanduser().exists():
            client: ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, persist_config=False)
            return client
        configuration = Configuration()
        config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration)
        return ApiClient(configuration)
    except config.ConfigException as exc:
        raise KubeNotConfigured(
            f"no usable Kubernetes configuration (KUBECONFIG, {DEFAULT_KUBECONFIG} or "
            f"in-cluster service account): {exc}") from None


class KubeApi:
    """Deployments, their ReplicaSets and scale, as JSON; the client is built on first use."""

    def __init__(self, client: ApiClient | Callable[[], ApiClient]) -> None:
        self._client = None if callable(client) else client
        self._factory = client if callable(client) else None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, kubeconfig: str | None, context: str | None) -> KubeApi:
        return cls(lambda: load_api_client(kubeconfig, context))

    def _api_client(self) -> ApiClient:
        with self._lock:
            if self._client is None:
                assert self._factory is not None
                self._client = self._factory()
            return self._client

    def _call(self, method: str, *args: Any, core: bool = False, **kwargs: Any) -> Obj:
        # Imported on first call: the generated API classes cost ~26 MB of worker RSS,
        # which a worker that never talks to Kubernetes should not pay (BENCHMARKS.md).
        from kubernetes.client import AppsV1Api, CoreV1Api

        api = CoreV1Api(self._api_client()) if core else AppsV1Api(self._api_client())
        response = getattr(api, method)(
            *args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        found: Obj = json.loads(response.data)
        return found

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Obj:
        try:
            return await asyncio.to_thread(self._call, method, *args, **kwargs)
        except Exception as exc:
            from kubernetes.client.exceptions import ApiException  # loaded by the call

            if isinstance(exc, ApiException):
                raise classify(exc) from exc
            raise

    async def pods(self, namespace: str, label_selector: str = "") -> list[Obj]:
        """Pods of ``namespace`` (core API: evidence only, needs ``list`` on pods)."""
        items: list[Obj] = (await self._run("list_namespaced_pod", namespace, core=True,
                                            label_selector=label_selector))["items"]
        return items

    async def events(self, namespace: str, field_selector: str = "") -> list[Obj]:
        """Events of ``namespace`` (core API: evidence only, needs ``list`` on events)."""
        items: list[Obj] = (await self._run("list_namespaced_event", namespace, core=True,
                                            field_selector=field_selector))["items"]
        return items

    async def deployment(self, namespace: str, name: str) -> Obj:
        return await self._run("read_namespaced_deployment", name, namespace)

    async def deployments(self, namespace: str) -> list[Obj]:
        items: list[Obj] = (await self._run("list_namespaced_deployment", namespace))["items"]
        return items

    async def all_replica_sets(self, namespace: str) -> list[Obj]:
        items: list[Obj] = (await self._run("list_namespaced_replica_set", namespace))["items"]
        return items

    async def replica_sets(self, deployment: Obj) -> list[Obj]:
        """The ReplicaSets this Deployment owns (its revision history)."""
        return owned_by(deployment, await self.all_replica_sets(deployment["metadata"]["namespace"]))

    async def patch_deployment(self, namespace: str, name: str, patch: Obj | list[Obj],
                               dry_run: bool = False) -> Obj:
        """A JSON patch (list) or merge patch (dict); ``dry_run`` is the API's dryRun=All."""
        kind = JSON_PATCH if isinstance(patch, list) else MERGE_PATCH
        return await self._run("patch_namespaced_deployment", name, namespace, patch,
                               _content_type=kind, **_dry(dry_run))

    async def scale(self, namespace: str, name: str) -> Obj:
        return await self._run("read_namespaced_deployment_scale", name, namespace)

    async def patch_scale(self, namespace: str, name: str, replicas: int,
                          resource_version: str, dry_run: bool = False) -> Obj:
        """Set ``spec.replicas`` only if the scale is still at ``resource_version`` (else 409)."""
        patch = {"metadata": {"resourceVersion": resource_version},
                 "spec": {"replicas": replicas}}
        return await self._run("patch_namespaced_deployment_scale", name, namespace, patch,
                               _content_type=MERGE_PATCH, **_dry(dry_run))


def owned_by(deployment: Obj, rsets: list[Obj]) -> list[Obj]:
    uid = deployment["metadata"]["uid"]
    return [rs for rs in rsets if any(ref.get("uid") == uid and ref.get("controller")
                                      for ref in rs["metadata"].get("ownerReferences") or [])]


def _dry(dry_run: bool) -> dict[str, str]:
    return {"dry_run": "All"} if dry_run else {}
