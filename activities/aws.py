"""AWS mitigations via boto3: an Auto Scaling group's desired capacity, a Lambda alias.

Both set an absolute target and return the value they replaced; both undo by
compare-and-set — the old value goes back only while the resource still shows ours,
otherwise the undo reports a conflict instead of clobbering a later change.

Idempotency (keyed by incident and step):
- ASG: SetDesiredCapacity carries no marker, so the step's intent (old and new
  capacity) is recorded in the remediator's Redis before the call and marked done
  after. A retry that finds an unfinished intent looks at the group: still at the old
  capacity means the call never landed (make it); anything else means it did.
- Lambda: UpdateAlias writes the version and the alias Description in one call, so the
  Description carries the step's marker and the version it replaced; a retry that
  finds the marker returns the recorded result without a second call.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

import redis.asyncio as aioredis
import structlog
from temporalio import activity

from activities.boto import call
from activities.errors import NotAllowed, ResourceNotFound, refusals_non_retryable, validated
from activities.markers import Markers, step_tag
from remediator.chaos import CrashPoints
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult
from workflows.catalogue import AsgCapacityParams, LambdaAliasParams

log = structlog.get_logger()


def _check_allowed(kind: str, name: str, allowlist: list[str], env: str) -> None:
    if not any(fnmatchcase(name, pattern) for pattern in allowlist):
        raise NotAllowed(f"{kind} {name!r} is not on the allow-list ({env})").to_application_error()


class AsgActivities:
    """``set_asg_capacity`` and its undo ``restore_asg_capacity``."""

    def __init__(self, autoscaling: Any, state: aioredis.Redis, allowlist: list[str],
                 max_capacity: int, crash: CrashPoints) -> None:
        self._asg = autoscaling
        self._markers = Markers(state, "asg-capacity")
        self._allowlist = allowlist
        self._max = max_capacity
        self._crash = crash

    async def _group(self, name: str) -> dict[str, Any]:
        resp = await call(self._asg.describe_auto_scaling_groups, AutoScalingGroupNames=[name])
        if not resp["AutoScalingGroups"]:
            raise ResourceNotFound(f"Auto Scaling group {name!r} not found")
        group: dict[str, Any] = resp["AutoScalingGroups"][0]
        return group

    def _target(self, desired: int, group: dict[str, Any]) -> tuple[int, str]:
        """The requested capacity within [MinSize, min(MaxSize, configured max)]."""
        ceiling = min(int(group["MaxSize"]), self._max)
        target = min(max(desired, int(group["MinSize"])), ceiling)
        if target == desired:
            return target, ""
        return target, (f" (requested {desired}; MinSize {group['MinSize']}, MaxSize "
                        f"{group['MaxSize']}, REMEDIATOR_ASG_MAX_CAPACITY {self._max})")

    async def _set(self, group: str, capacity: int) -> None:
        await call(self._asg.set_desired_capacity, AutoScalingGroupName=group,
                   DesiredCapacity=capacity, HonorCooldown=False)

    @activity.defn
    async def set_asg_capacity(self, req: MitigationRequest) -> MitigationResult:
        """Set the group's desired capacity once per (incident, step); return the old one.

        The target is capped by the group's MinSize/MaxSize and REMEDIATOR_ASG_MAX_CAPACITY.
        Dry-run reads the group and changes nothing. Refused for groups off the allow-list
        (NotAllowed) and missing groups (ResourceNotFound).
        """
        params = validated(AsgCapacityParams, req.params)
        _check_allowed("Auto Scaling group", params.group, self._allowlist,
                       "REMEDIATOR_ASG_ALLOWLIST")
        key = req.key
        with refusals_non_retryable():
            group = await self._group(params.group)
            current = int(group["DesiredCapacity"])
            target, note = self._target(params.desired, group)
            if req.dry_run:
                return MitigationResult(
                    step_id=req.step_id, action="aws.asg.set_capacity", applied=False,
                    dry_run=True, detail=f"would call SetDesiredCapacity(AutoScalingGroupName="
                    f"{params.group}, DesiredCapacity={target}): {current} → {target}{note}")
            record = await self._markers.get(key)
            if record is None:
                record = {"group": params.group, "old": current, "new": target, "note": note,
                          "done": False}
                await self._markers.put(key, record)
            if not record["done"]:
                landed = current != record["old"]  # an earlier attempt's call went through
                if not landed and current != record["new"]:
                    await self._set(params.group, int(record["new"]))
                self._crash.reach("aws.set_asg_capacity.after_write")
                record["done"] = True
                await self._markers.put(key, record)
        log.info("mitigation.applied", action="aws.asg.set_capacity", group=params.group,
                 old=record["old"], new=record["new"])
        return MitigationResult(
            step_id=req.step_id, action="aws.asg.set_capacity", applied=True,
            detail=f"desired capacity of {params.group}: {record['old']} → {record['new']}"
                   f"{record['note']}",
            undo={"group": params.group, "old": record["old"], "expected": record["new"]},
        )

    @activity.defn
    async def restore_asg_capacity(self, req: UndoRequest) -> UndoResult:
        """Set the old desired capacity back if the group still has ours; else a conflict."""
        name, old, expected = str(req.undo["group"]), int(req.undo["old"]), int(req.undo["expected"])
        _check_allowed("Auto Scaling group", name, self._allowlist, "REMEDIATOR_ASG_ALLOWLIST")
        with refusals_non_retryable():
            current = int((await self._group(name))["DesiredCapacity"])
            if current == old:
                return UndoResult(step_id=req.step_id, undone=True,
                                  detail=f"desired capacity of {name} is {old} again")
            if current != expected:
                log.warning("mitigation.undo_conflict", group=name, current=current)
                return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=(
                    f"desired capacity of {name} was changed to {current} since the "
                    f"mitigation set {expected}; left as is instead of clobbering it"))
            await self._set(name, old)
        log.info("mitigation.undone", group=name, restored=old)
        return UndoResult(step_id=req.step_id, undone=True,
                          detail=f"desired capacity of {name}: {expected} → {old}")


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
        _check_allowed("Lambda function", function, self._allowlist, "REMEDIATOR_LAMBDA_ALLOWLIST")

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
