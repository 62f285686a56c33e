"""Flag evidence: flips in the 24 h before onset, from the remediator's Redis change log
and from SSM Parameter Store's version history (each version's date, user, description).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from activities.aws.clients import call
from activities.evidence.found import Found
from activities.evidence.request import EvidenceRequest, Scope
from activities.evidence.suspect import LOOKBACK, relation
from activities.feature_flags.redis_store import RedisFlagStore
from activities.feature_flags.ssm_store import SsmFlagStore
from remediator.models.evidence import Change

# SSM: at most this many flags' histories per environment (one call each).
MAX_PARAMETERS = 20
OUR_NOTES = ("mitigation", "undo")


def _at(raw: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        return None


def _environments(req: EvidenceRequest, scope: Scope) -> list[str]:
    return sorted({req.environment, *(env for _, env, _ in scope.flags)})


def _related(req: EvidenceRequest, scope: Scope) -> set[str]:
    return {req.service, req.environment}


class RedisFlagEvidence:
    """The ``flags`` source: the Redis flag store's change log."""

    name = "flags"

    def __init__(self, store: RedisFlagStore) -> None:
        self._store = store

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        found, since = Found(""), req.onset - LOOKBACK
        for env in _environments(req, scope):
            for entry in await self._store.changes(env):
                at = _at(entry.get("at"))
                if at is None or at < since:
                    continue
                flag, ours = str(entry.get("flag")), entry.get("note") in OUR_NOTES
                target = f"flag:{flag}@{env}"
                found.changes.append(Change(
                    at=at, kind="remediator" if ours else "flag", target=target,
                    summary=f"flag {flag} in {env} set to {entry.get('value')!r}"
                            + (f" by {entry.get('by')}" if ours else ""),
                    by_remediator=ours, relation=relation(target, scope.targets,
                                                          _related(req, scope))))
                found.detail.setdefault("flag_log", []).append({**entry, "environment": env})
        found.line = (f"{len(found.changes)} flag change(s) in the 24 h before onset "
                      f"({', '.join(_environments(req, scope))})")
        return found


class SsmFlagEvidence:
    """The ``parameters`` source: SSM parameter versions under the flag prefix.

    Read only where SSM holds flags: the incident's runbook sets one there, or
    ``in_use()`` says some runbook does. A team that keeps no flags in SSM makes no AWS
    call on every triage, and its worker never loads boto3 for one (~22 MB of its memory,
    BENCHMARKS.md)."""

    name = "parameters"

    def __init__(self, ssm: Any, store: SsmFlagStore, in_use: Callable[[], bool]) -> None:
        self._ssm = ssm
        self._store = store
        self._in_use = in_use

    async def _names(self, env: str) -> list[str]:
        path = self._store.name(env, "x").rsplit("/", 1)[0]
        resp = await call(self._ssm.get_parameters_by_path, Path=path, Recursive=False,
                          MaxResults=10)
        names = [str(p["Name"]) for p in resp.get("Parameters", [])]
        token = resp.get("NextToken")
        while token and len(names) < MAX_PARAMETERS:
            resp = await call(self._ssm.get_parameters_by_path, Path=path, Recursive=False,
                              MaxResults=10, NextToken=token)
            names += [str(p["Name"]) for p in resp.get("Parameters", [])]
            token = resp.get("NextToken")
        return names[:MAX_PARAMETERS]

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        if not any(store == "ssm" for store, _, _ in scope.flags) and not self._in_use():
            return Found("no runbook keeps flags in SSM")
        found, since = Found(""), req.onset - LOOKBACK
        for env in _environments(req, scope):
            for name in await self._names(env):
                flag = name.rsplit("/", 1)[1]
                for v in await self._store.history(env, flag):
                    at = v.get("LastModifiedDate")
                    if not isinstance(at, datetime) or at < since:
                        continue
                    ours = str(v.get("Description") or "").startswith("remediator ")
                    target = f"flag:{flag}@{env}"
                    who = v.get("Description") if ours else v.get("LastModifiedUser")
                    found.changes.append(Change(
                        at=at, kind="remediator" if ours else "parameter", target=target,
                        summary=f"SSM {name} version {v['Version']} = {str(v.get('Value'))[:80]!r}"
                                + (f" by {who}" if who else ""),
                        by_remediator=ours,
                        relation=relation(target, scope.targets, _related(req, scope))))
        found.line = f"{len(found.changes)} parameter version(s) in the 24 h before onset"
        return found
