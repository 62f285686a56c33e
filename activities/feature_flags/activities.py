"""Feature-flag mitigations: set a flag, remembering the old value; restore it if unchanged.

The flag lives in the back end named by the step's ``store`` param (a ``FlagStore``):
the remediator's Redis (``redis_store``) or AWS SSM Parameter Store (``ssm_store``).
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Literal

import structlog
from pydantic import Field
from temporalio import activity

from activities.feature_flags.store import FlagStore
from activities.support.crash_points import CrashPoints
from activities.support.errors import NotAllowed, Rejected, refusals_non_retryable, validated
from activities.support.params import Params
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult

log = structlog.get_logger()


class SetFlagParams(Params):
    """Set feature flag ``flag`` to ``value`` (e.g. "off") in ``environment``."""

    flag: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=1000)
    environment: str | None = None
    # Where the flag lives: the remediator's Redis, or AWS SSM Parameter Store.
    store: Literal["redis", "ssm"] = "redis"

    def target(self) -> str:
        # No environment: the worker's default one, whichever it is.
        return f"flag:{self.flag}@{self.environment or 'default'}"

    def cap_scope(self) -> str:
        return f"flags:{self.environment or 'default'}"

    def describe(self) -> str:
        where = f" in {self.environment}" if self.environment else ""
        return f"set flag {self.flag} → {self.value}{where}"


class FlagActivities:
    """``set_flag`` and its undo ``restore_flag``, scoped by a flag allow-list.

    ``stores`` maps a step's ``store`` param ("redis", "ssm") to its back end.
    """

    def __init__(
        self, stores: Mapping[str, FlagStore], allowlist: list[str], environment: str,
        crash: CrashPoints,
    ) -> None:
        self._stores = dict(stores)
        self._allowlist = allowlist
        self._environment = environment
        self._crash = crash

    def _check_allowed(self, flag: str) -> None:
        if not any(fnmatchcase(flag, pattern) for pattern in self._allowlist):
            raise NotAllowed(
                f"flag {flag!r} is not on the flag allow-list (REMEDIATOR_FLAG_ALLOWLIST)"
            ).to_application_error()

    def _store(self, name: str) -> FlagStore:
        if name not in self._stores:
            raise Rejected(f"flag store {name!r} is not configured on this worker "
                           f"(configured: {', '.join(sorted(self._stores))})")
        return self._stores[name]

    @activity.defn
    async def set_flag(self, req: MitigationRequest) -> MitigationResult:
        """Set a flag to an absolute value once per (incident, step); return the old value.

        Dry-run reads the current value and writes nothing. Refused (non-retryable) for a
        flag off the allow-list or an unconfigured store.
        """
        params = validated(SetFlagParams, req.params)
        env = params.environment or self._environment
        self._check_allowed(params.flag)
        where = f"{env} ({params.store})"
        with refusals_non_retryable():
            store = self._store(params.store)
            if req.dry_run:
                current = await store.get(env, params.flag)
                return MitigationResult(
                    step_id=req.step_id, action="feature_flag.set", applied=False, dry_run=True,
                    detail=f"would set flag {params.flag} in {where}: "
                           f"{current!r} → {params.value!r}",
                )
            key = req.key
            change = await store.set_once(env, params.flag, params.value, key, "mitigation")
        self._crash.reach("feature_flags.set_flag.after_write")
        log.info("mitigation.applied", action="feature_flag.set", flag=params.flag,
                 environment=env, store=params.store, old=change.old, new=params.value,
                 repeated=change.repeated)
        return MitigationResult(
            step_id=req.step_id, action="feature_flag.set", applied=True,
            detail=f"flag {params.flag} in {where}: {change.old!r} → {params.value!r}",
            undo={"flag": params.flag, "environment": env, "old": change.old,
                  "expected": params.value, "store": params.store},
        )

    @activity.defn
    async def restore_flag(self, req: UndoRequest) -> UndoResult:
        """Put the old value back, unless someone changed the flag since (then report it)."""
        flag, env = str(req.undo["flag"]), str(req.undo["environment"])
        self._check_allowed(flag)
        old = req.undo.get("old")
        with refusals_non_retryable():
            store = self._store(str(req.undo.get("store", "redis")))
            state, current = await store.restore_if_unchanged(
                env, flag, str(req.undo["expected"]), None if old is None else str(old),
                req.key, "undo",
            )
        if state == "conflict":
            detail = (f"flag {flag} was changed to {current!r} since the mitigation; "
                      "left as is instead of clobbering it")
            log.warning("mitigation.undo_conflict", flag=flag, current=current)
            return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=detail)
        log.info("mitigation.undone", flag=flag, restored=old)
        return UndoResult(step_id=req.step_id, undone=True, detail=f"flag {flag} restored to {old!r}")
