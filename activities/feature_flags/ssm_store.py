"""Feature flags in AWS SSM Parameter Store: one String parameter per flag.

SSM has no conditional write, so the idempotency marker is the parameter's own
version history: every version this store writes carries a Description naming the
incident step (``remediator set inc-…:step``). Value and Description are one
PutParameter, so finding that version proves the write landed, and the version
before it holds the old value — no second store has to agree with SSM.

The compare-and-set of ``restore_if_unchanged`` is check-then-put: SSM offers no
atomic version; the race window is one round trip.
"""

from __future__ import annotations

from typing import Any

from activities.aws.clients import call
from activities.feature_flags.store import FlagChange
from activities.support.errors import Rejected, ResourceNotFound
from activities.support.markers import step_tag

DESCRIPTION_LIMIT = 1024


class SsmFlagStore:
    """Flags at ``<prefix>/<environment>/<flag>``; the ``FlagStore`` of ``store: ssm``."""

    def __init__(self, ssm: Any, prefix: str = "/remediator/flags") -> None:
        self._ssm = ssm
        self._prefix = prefix.rstrip("/")

    def name(self, environment: str, flag: str) -> str:
        return f"{self._prefix}/{environment}/{flag}"

    def _history_pages(self, name: str) -> list[dict[str, Any]]:
        pages = self._ssm.get_paginator("get_parameter_history").paginate(
            Name=name, WithDecryption=True
        )
        return [version for page in pages for version in page["Parameters"]]

    async def history(self, environment: str, flag: str) -> list[dict[str, Any]]:
        """Every retained version of the flag, oldest first (empty if it does not exist)."""
        try:
            versions = await call(self._history_pages, name=self.name(environment, flag))
        except ResourceNotFound:
            return []
        return sorted(versions, key=lambda v: int(v["Version"]))

    async def get(self, environment: str, flag: str) -> str | None:
        try:
            resp = await call(self._ssm.get_parameter, Name=self.name(environment, flag),
                              WithDecryption=True)
        except ResourceNotFound:
            return None
        return str(resp["Parameter"]["Value"])

    async def writes(self, environment: str, flag: str, key: str) -> int:
        """How many versions the step ``key`` wrote (tests assert exactly one)."""
        tag = step_tag("set", key, DESCRIPTION_LIMIT)
        return sum(v.get("Description") == tag for v in await self.history(environment, flag))

    async def set_once(
        self, environment: str, flag: str, value: str, key: str, note: str
    ) -> FlagChange:
        name = self.name(environment, flag)
        tag = step_tag("set", key, DESCRIPTION_LIMIT)
        history = await self.history(environment, flag)
        mine = next((v for v in history if v.get("Description") == tag), None)
        if mine is not None:
            return self._recorded(name, history, int(mine["Version"]))
        current = history[-1] if history else None
        await call(self._ssm.put_parameter, Name=name, Value=value, Overwrite=True,
                   Type=current["Type"] if current else "String", Description=tag)
        return FlagChange(old=None if current is None else str(current["Value"]),
                          existed=current is not None, repeated=False)

    @staticmethod
    def _recorded(name: str, history: list[dict[str, Any]], version: int) -> FlagChange:
        """What the earlier write of this step replaced: the version just before it."""
        if version == 1:
            return FlagChange(old=None, existed=False, repeated=True)
        before = next((v for v in history if int(v["Version"]) == version - 1), None)
        if before is None:
            # SSM keeps the last 100 versions; guessing "did not exist" would make the
            # undo delete the flag, so refuse instead.
            raise Rejected(f"{name}: version {version - 1} is no longer in SSM's history; "
                           "the value this step replaced is unknown")
        return FlagChange(old=str(before["Value"]), existed=True, repeated=True)

    async def restore_if_unchanged(
        self, environment: str, flag: str, expected: str, old: str | None, key: str, note: str
    ) -> tuple[str, str | None]:
        name = self.name(environment, flag)
        tag = step_tag("undo", key, DESCRIPTION_LIMIT)
        history = await self.history(environment, flag)
        if any(v.get("Description") == tag for v in history):
            return "done", None
        current = str(history[-1]["Value"]) if history else None
        if current == old:
            return "done", None  # already holds the old value (an earlier undo deleted it)
        if current != expected:
            return "conflict", current
        if old is None:
            await call(self._ssm.delete_parameter, Name=name)
        else:
            await call(self._ssm.put_parameter, Name=name, Value=old, Overwrite=True,
                       Type=history[-1]["Type"], Description=tag)
        return "restored", None
