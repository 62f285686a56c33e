"""AWS Lambda: point an alias back at a published version, undone by compare-and-set.

The step points the alias at a named version and returns the version it replaced; the
undo points it back only while the alias still shows ours, otherwise it reports a
conflict instead of clobbering a later change.

Idempotency (keyed by incident and step): UpdateAlias writes the version and the alias
Description in one call, so the Description carries the step's marker and the version
it replaced; a retry that finds the marker returns the recorded result without a
second call.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from pydantic import Field
from temporalio import activity

from activities.aws.clients import call
from activities.support.allowlist import require_allowed
from activities.support.crash_points import CrashPoints
from activities.support.errors import refusals_non_retryable, validated
from activities.support.markers import step_tag
from activities.support.params import Params
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult

log = structlog.get_logger()


class LambdaAliasParams(Params):
    """Point Lambda ``function``'s ``alias`` at the published ``version`` (never $LATEST)."""

    function: str = Field(min_length=1, max_length=170)
    alias: str = Field(min_length=1, max_length=128)
    version: str = Field(pattern=r"^[0-9]+$")

    def target(self) -> str:
        return f"lambda:{self.function}:{self.alias}"

    def cap_scope(self) -> str:
        return "aws"


# "<original description> [remediator rollback inc-…:step was=3]"
_MARK = re.compile(r"\s*\[(?P<tag>remediator rollback [^\]]*) was=(?P<was>[^\]\s]+)\]$")
DESCRIPTION_LIMIT = 256


def _marked(description: str, tag: str, old: str) -> str:
    suffix = f" [{tag} was={old}]"
    return description[: DESCRIPTION_LIMIT - len(suffix)] + suffix


class LambdaActivities:
    """``rollback_lambda_alias`` and its undo ``restore_lambda_alias``."""

    def __init__(self, lambda_client: Any, allowlist: list[str], crash: CrashPoints) -> None:
        self._lambda = lambda_client
        self._allowlist = allowlist
        self._crash = crash

    def _check(self, function: str) -> None:
        require_allowed("Lambda function", function, self._allowlist, "REMEDIATOR_LAMBDA_ALLOWLIST")

    async def _alias(self, function: str, alias: str) -> dict[str, Any]:
        found: dict[str, Any] = await call(self._lambda.get_alias, FunctionName=function,
                                           Name=alias)
        return found

    @activity.defn
    async def rollback_lambda_alias(self, req: MitigationRequest) -> MitigationResult:
        """Point the alias at the named earlier version once per (incident, step).

        Returns the version it replaced. Dry-run checks alias and version and changes
        nothing. Refused for functions off the allow-list (NotAllowed) and a missing
        function, alias or version (ResourceNotFound).
        """
        params = validated(LambdaAliasParams, req.params)
        self._check(params.function)
        where = f"{params.function}:{params.alias}"
        tag = step_tag("rollback", req.key, 120)
        with refusals_non_retryable():
            alias = await self._alias(params.function, params.alias)
            await call(self._lambda.get_function, FunctionName=params.function,
                       Qualifier=params.version)
            current = str(alias["FunctionVersion"])
            description = str(alias.get("Description") or "")
            if req.dry_run:
                return MitigationResult(
                    step_id=req.step_id, action="aws.lambda.rollback_alias", applied=False,
                    dry_run=True, detail=f"would call UpdateAlias(FunctionName={params.function}"
                    f", Name={params.alias}, FunctionVersion={params.version}): version "
                    f"{current} → {params.version}")
            mark = _MARK.search(description)
            if mark is not None and mark["tag"] == tag:
                old, original = mark["was"], description[: mark.start()]
            else:
                old, original = current, _MARK.sub("", description)
                await call(self._lambda.update_alias, FunctionName=params.function,
                           Name=params.alias, FunctionVersion=params.version,
                           Description=_marked(original, tag, old), RevisionId=alias["RevisionId"])
                self._crash.reach("aws.rollback_lambda_alias.after_write")
        log.info("mitigation.applied", action="aws.lambda.rollback_alias", alias=where,
                 old=old, new=params.version)
        return MitigationResult(
            step_id=req.step_id, action="aws.lambda.rollback_alias", applied=True,
            detail=f"alias {where}: version {old} → {params.version}",
            undo={"function": params.function, "alias": params.alias, "old": old,
                  "expected": params.version, "description": original},
        )

    @activity.defn
    async def restore_lambda_alias(self, req: UndoRequest) -> UndoResult:
        """Point the alias back at the version it replaced if it still shows ours."""
        function, name = str(req.undo["function"]), str(req.undo["alias"])
        old, expected = str(req.undo["old"]), str(req.undo["expected"])
        self._check(function)
        with refusals_non_retryable():
            alias = await self._alias(function, name)
            current = str(alias["FunctionVersion"])
            if current == old:
                return UndoResult(step_id=req.step_id, undone=True,
                                  detail=f"alias {function}:{name} is at version {old} again")
            if current != expected:
                log.warning("mitigation.undo_conflict", alias=f"{function}:{name}",
                            current=current)
                return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=(
                    f"alias {function}:{name} was moved to version {current} since the "
                    f"rollback to {expected}; left as is instead of clobbering it"))
            # RevisionId makes the write itself conditional where AWS enforces it.
            await call(self._lambda.update_alias, FunctionName=function, Name=name,
                       FunctionVersion=old, Description=str(req.undo.get("description", "")),
                       RevisionId=alias["RevisionId"])
        log.info("mitigation.undone", alias=f"{function}:{name}", restored=old)
        return UndoResult(step_id=req.step_id, undone=True,
                          detail=f"alias {function}:{name}: version {expected} → {old}")
