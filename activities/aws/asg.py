"""AWS Auto Scaling: a group's desired capacity, set absolute, undone by compare-and-set.

The step sets an absolute capacity and returns the one it replaced; the undo puts the
old capacity back only while the group still shows ours, otherwise it reports a
conflict instead of clobbering a later change.

Idempotency (keyed by incident and step): SetDesiredCapacity carries no marker, so the
step's intent (old and new capacity) is recorded in the remediator's Redis before the
call and marked done after. A retry that finds an unfinished intent looks at the group:
still at the old capacity means the call never landed (make it); anything else means it did.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
import structlog
from pydantic import Field
from temporalio import activity

from activities.aws.clients import call
from activities.support.allowlist import require_allowed
from activities.support.crash_points import CrashPoints
from activities.support.errors import ResourceNotFound, refusals_non_retryable, validated
from activities.support.markers import Markers
from activities.support.params import Params
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult

log = structlog.get_logger()


class AsgCapacityParams(Params):
    """Set Auto Scaling group ``group``'s desired capacity to ``desired`` (absolute)."""

    group: str = Field(min_length=1, max_length=255)
    desired: int = Field(ge=0)

    def target(self) -> str:
        return f"asg:{self.group}"

    def cap_scope(self) -> str:
        return "aws"


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
        require_allowed("Auto Scaling group", params.group, self._allowlist,
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
        require_allowed("Auto Scaling group", name, self._allowlist, "REMEDIATOR_ASG_ALLOWLIST")
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
