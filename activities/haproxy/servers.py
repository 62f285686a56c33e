"""HAProxy server mitigations: drain (or maint), weight, maxconn — set absolute, once per
(incident, step), each returning the value it replaced; undone by compare-and-set.

The runtime API carries no marker, so a step's intent (old and new value) is recorded
in the remediator's Redis before the command and marked done after. A retry that finds
an unfinished intent looks at the server: still at the old value means the command
never landed (send it); anything else means it did. The undo puts the old value back
only while the server still has ours; a later manual change is reported, not clobbered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis
import structlog
from pydantic import Field
from temporalio import activity

from activities.haproxy.runtime import HaproxyRuntime, ServerState
from activities.support.allowlist import require_allowed
from activities.support.crash_points import CrashPoints
from activities.support.errors import refusals_non_retryable, validated
from activities.support.markers import Markers
from activities.support.params import Params
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult

log = structlog.get_logger()
ALLOWLIST = "REMEDIATOR_HAPROXY_ALLOWLIST"
# Names only: the runtime API splits commands on ';' and lines, so nothing else may pass.
NAME = r"^[A-Za-z0-9_.:-]{1,100}$"


class HaproxyServerParams(Params):
    """Server ``server`` of HAProxy backend ``backend``."""

    backend: str = Field(pattern=NAME)
    server: str = Field(pattern=NAME)

    def target(self) -> str:
        return f"haproxy:{self.backend}/{self.server}"


class DrainServerParams(HaproxyServerParams):
    """Put the server in ``drain`` (no new connections, current ones finish) or ``maint``."""

    state: Literal["drain", "maint"] = "drain"


class SetWeightParams(HaproxyServerParams):
    """Set the server's weight (0: route new traffic away from it)."""

    weight: int = Field(ge=0, le=256)


class SetMaxconnParams(HaproxyServerParams):
    """Cap the server's concurrent connections at ``maxconn`` (HAProxy queues the rest)."""

    maxconn: int = Field(ge=1, le=1_000_000)


@dataclass(frozen=True)
class Knob:
    """One server setting: how to read it, how to set it."""

    action: str
    name: str
    read: Callable[[ServerState], str | int]
    command: Callable[[str, str | int], str]


STATE = Knob("haproxy.drain_server", "state", lambda s: s.state,
             lambda where, v: f"set server {where} state {v}")
WEIGHT = Knob("haproxy.set_weight", "weight", lambda s: s.weight,
              lambda where, v: f"set server {where} weight {v}")
MAXCONN = Knob("haproxy.set_maxconn", "maxconn", lambda s: s.maxconn,
               lambda where, v: f"set maxconn server {where} {v}")
KNOBS = {k.name: k for k in (STATE, WEIGHT, MAXCONN)}


class HaproxyActivities:
    """Apply and undo of ``haproxy.drain_server``, ``set_weight`` and ``set_maxconn``."""

    def __init__(self, runtime: HaproxyRuntime, state: aioredis.Redis, allowlist: list[str],
                 crash: CrashPoints) -> None:
        self._api = runtime
        self._markers = Markers(state, "haproxy")
        self._allowlist = allowlist
        self._crash = crash

    @activity.defn
    async def drain_server(self, req: MitigationRequest) -> MitigationResult:
        """Set the server's admin state to drain or maint; return the state it replaced."""
        params = validated(DrainServerParams, req.params)
        return await self._set(req, params, STATE, params.state)

    @activity.defn
    async def set_server_weight(self, req: MitigationRequest) -> MitigationResult:
        """Set the server's weight (absolute); return the weight it replaced."""
        params = validated(SetWeightParams, req.params)
        return await self._set(req, params, WEIGHT, params.weight)

    @activity.defn
    async def set_server_maxconn(self, req: MitigationRequest) -> MitigationResult:
        """Set the server's maxconn (absolute); return the one it replaced (0: none)."""
        params = validated(SetMaxconnParams, req.params)
        return await self._set(req, params, MAXCONN, params.maxconn)

    @activity.defn
    async def restore_server_state(self, req: UndoRequest) -> UndoResult:
        """Put the replaced admin state back if the server still has ours; else a conflict."""
        return await self._restore(req, STATE)

    @activity.defn
    async def restore_server_weight(self, req: UndoRequest) -> UndoResult:
        """Put the replaced weight back if the server still has ours; else a conflict."""
        return await self._restore(req, WEIGHT)

    @activity.defn
    async def restore_server_maxconn(self, req: UndoRequest) -> UndoResult:
        """Put the replaced maxconn back if the server still has ours; else a conflict."""
        return await self._restore(req, MAXCONN)

    async def _set(self, req: MitigationRequest, params: HaproxyServerParams, knob: Knob,
                   new: str | int) -> MitigationResult:
        where = f"{params.backend}/{params.server}"
        require_allowed("HAProxy server", where, self._allowlist, ALLOWLIST)
        with refusals_non_retryable():
            current = knob.read(await self._api.server(params.backend, params.server))
            if req.dry_run:
                return MitigationResult(
                    step_id=req.step_id, action=knob.action, applied=False, dry_run=True,
                    detail=f"would run `{knob.command(where, new)}` on HAProxy "
                           f"{self._api.address}: {knob.name} of {where} {current} → {new}")
            record = await self._markers.get(req.key)
            if record is None:
                record = {"old": current, "new": new, "done": False}
                await self._markers.put(req.key, record)
            if not record["done"]:
                landed = current != record["old"]  # an earlier attempt's command went through
                if not landed and current != record["new"]:
                    await self._api.change(knob.command(where, record["new"]))
                self._crash.reach(f"haproxy.{knob.name}.after_write")
                record["done"] = True
                await self._markers.put(req.key, record)
        log.info("mitigation.applied", action=knob.action, server=where, old=record["old"],
                 new=record["new"])
        return MitigationResult(
            step_id=req.step_id, action=knob.action, applied=True,
            detail=f"{knob.name} of HAProxy server {where}: {record['old']} → {record['new']}",
            undo={"backend": params.backend, "server": params.server, "knob": knob.name,
                  "old": record["old"], "expected": record["new"]})

    async def _restore(self, req: UndoRequest, knob: Knob) -> UndoResult:
        backend, server = str(req.undo["backend"]), str(req.undo["server"])
        old, expected = req.undo["old"], req.undo["expected"]
        where = f"{backend}/{server}"
        require_allowed("HAProxy server", where, self._allowlist, ALLOWLIST)
        with refusals_non_retryable():
            current = knob.read(await self._api.server(backend, server))
            if current == old:
                return UndoResult(step_id=req.step_id, undone=True,
                                  detail=f"{knob.name} of HAProxy server {where} is {old} again")
            if current != expected:
                log.warning("mitigation.undo_conflict", server=where, knob=knob.name,
                            current=current)
                return UndoResult(step_id=req.step_id, undone=False, conflict=True, detail=(
                    f"{knob.name} of HAProxy server {where} was changed to {current} since the "
                    f"mitigation set {expected}; left as is instead of clobbering it"))
            await self._api.change(knob.command(where, old))
        log.info("mitigation.undone", server=where, knob=knob.name, restored=old)
        return UndoResult(step_id=req.step_id, undone=True,
                          detail=f"{knob.name} of HAProxy server {where}: {expected} → {old}")
