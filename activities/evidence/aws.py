"""AWS evidence: Lambda versions published and aliases moved, Auto Scaling activities,
within the 24 h before onset, for the functions and groups the runbook names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from activities.aws.clients import call
from activities.evidence.found import Found
from activities.evidence.request import EvidenceRequest, Scope
from activities.evidence.suspect import LOOKBACK, relation
from remediator.models.evidence import Change

# Lambda's LastModified: "2026-11-20T10:02:03.000+0000" (AWS), "…03.000000000Z" (moto).
_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def _when(raw: object) -> datetime | None:
    if isinstance(raw, datetime):
        return raw
    found = _STAMP.match(str(raw))
    if found is None:
        return None
    base, zone = found.groups()
    at = datetime.fromisoformat(base + ("" if zone in (None, "Z") else zone))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class LambdaEvidence:
    """The ``lambda`` source."""

    name = "lambda"

    def __init__(self, lambda_: Any) -> None:
        self._lambda = lambda_

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        if not scope.functions:
            return Found("no Lambda function in the runbook")
        found, since, parts = Found(""), req.onset - LOOKBACK, []
        for fn, alias in sorted(scope.functions):
            target = f"lambda:{fn}:{alias}"
            versions = (await call(self._lambda.list_versions_by_function,
                                   FunctionName=fn)).get("Versions", [])
            for v in versions:
                at = _when(v.get("LastModified"))
                if v.get("Version") == "$LATEST" or at is None or at < since:
                    continue
                found.changes.append(Change(
                    at=at, kind="lambda", target=target,
                    summary=f"Lambda {fn} version {v['Version']} published",
                    relation=relation(target, scope.targets, {req.service})))
            now = ""
            if alias:
                got = await call(self._lambda.get_alias, FunctionName=fn, Name=alias)
                ours = str(got.get("Description") or "").startswith("remediator ")
                now = f", alias {alias} → version {got.get('FunctionVersion')}" + (
                    " (set by remediator)" if ours else "")
            parts.append(f"{fn}: {len(versions) - 1} published version(s){now}")
        found.line = "; ".join(parts)
        return found


class AsgEvidence:
    """The ``autoscaling`` source."""

    name = "autoscaling"

    def __init__(self, autoscaling: Any) -> None:
        self._asg = autoscaling

    async def collect(self, req: EvidenceRequest, scope: Scope) -> Found:
        if not scope.groups:
            return Found("no Auto Scaling group in the runbook")
        found, since, parts = Found(""), req.onset - LOOKBACK, []
        for group in sorted(scope.groups):
            target = f"asg:{group}"
            resp = await call(self._asg.describe_scaling_activities,
                              AutoScalingGroupName=group, MaxRecords=50)
            recent = [a for a in resp.get("Activities", [])
                      if (at := _when(a.get("StartTime"))) is not None and at >= since]
            for a in recent:
                text = str(a.get("Description") or a.get("Cause") or "scaling activity")
                found.changes.append(Change(
                    at=_when(a["StartTime"]) or req.onset, kind="asg", target=target,
                    summary=f"ASG {group}: {text[:160]}",
                    by_remediator="remediator" in str(a.get("Cause") or ""),
                    relation=relation(target, scope.targets, {req.service})))
            parts.append(f"{group}: {len(recent)} scaling activit{'y' if len(recent) == 1 else 'ies'}"
                         " in 24 h")
        found.line = "; ".join(parts)
        return found
