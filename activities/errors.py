"""Failures named for what went wrong, mapped once to Temporal's non-retryable error."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


class MitigationRefused(Exception):
    """A definite "no": retrying cannot help (allow-list, missing resource, bad auth)."""

    kind = "MitigationRefused"

    def to_application_error(self) -> ApplicationError:
        return ApplicationError(str(self), type=self.kind, non_retryable=True)


class NotAllowed(MitigationRefused):
    kind = "NotAllowed"


class ResourceNotFound(MitigationRefused):
    kind = "ResourceNotFound"


def non_retryable(exc: MitigationRefused) -> ApplicationError:
    return exc.to_application_error()
