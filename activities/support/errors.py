"""Failures named for what went wrong, mapped once to Temporal's non-retryable error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

P = TypeVar("P", bound=BaseModel)
log = structlog.get_logger()


class MitigationRefused(Exception):
    """A definite "no": retrying cannot help (allow-list, missing resource, bad auth)."""

    kind = "MitigationRefused"

    def to_application_error(self) -> ApplicationError:
        """Non-retryable, and *benign*: a refusal is the activity working as designed, so
        Temporal logs it at DEBUG without a traceback and counts no failure; the one
        ``activity.refused`` line says what was refused and why."""
        log.warning("activity.refused", refusal=self.kind, reason=str(self))
        return ApplicationError(str(self), type=self.kind, non_retryable=True,
                                category=ApplicationErrorCategory.BENIGN)


class NotAllowed(MitigationRefused):
    kind = "NotAllowed"


class ResourceNotFound(MitigationRefused):
    kind = "ResourceNotFound"


class AuthFailed(MitigationRefused):
    """Credentials were refused: retrying with the same ones cannot help."""

    kind = "AuthFailed"


class Rejected(MitigationRefused):
    """The target system said no to this request as given (invalid, disabled, out of range)."""

    kind = "Rejected"


class InvalidParams(MitigationRefused):
    kind = "InvalidParams"


def validated(model: type[P], params: dict[str, Any]) -> P:
    """Step params checked again by the activity: bad ones are refused, never retried."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        error = InvalidParams(f"invalid params for {model.__name__}: {exc}")
        raise error.to_application_error() from None


@contextmanager
def refusals_non_retryable() -> Iterator[None]:
    """Map a ``MitigationRefused`` raised inside to Temporal's non-retryable error, once."""
    try:
        yield
    except MitigationRefused as exc:
        raise exc.to_application_error() from exc
