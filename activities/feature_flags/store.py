"""What a feature-flag back end promises (one implementation per ``store`` param).

``RedisFlagStore`` (``redis_store``) and ``SsmFlagStore`` (``ssm_store``) implement it;
``FlagActivities`` (``activities``) picks one per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FlagChange:
    """The outcome of a set: the previous value (None if the flag did not exist)."""

    old: str | None
    existed: bool
    repeated: bool


class FlagStore(Protocol):
    """Where flags live. ``set_once`` writes at most once per ``key`` (incident:step) and
    returns what it replaced; ``restore_if_unchanged`` answers "restored", "done" (an
    earlier call did it) or "conflict" (with the value someone else set since)."""

    async def get(self, environment: str, flag: str) -> str | None: ...

    async def set_once(
        self, environment: str, flag: str, value: str, key: str, note: str
    ) -> FlagChange: ...

    async def restore_if_unchanged(
        self, environment: str, flag: str, expected: str, old: str | None, key: str, note: str
    ) -> tuple[str, str | None]: ...
