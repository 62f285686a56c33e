"""One incident that waits for an approval, and the helpers the approval tests share.

The fixtures that build these (``approvals``, ``case``, ``approval_worker``) live in
tests/e2e/conftest.py, so every end-to-end test reaches them by name.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import SecretStr
from temporalio.client import Client

from remediator.approval_proof import sign
from remediator.models.approval import ApprovalRequest, ApprovalSignal
from remediator.settings import Settings
from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents
from tests.support.alerts import alertmanager_payload
from tests.support.incidents import wait_done
from tests.support.polling import eventually
from workflows.approvals.audit import REFUSED
from workflows.approvals.models import PendingApproval
from workflows.incident_models import IncidentView

FLAGS = "remediator:flags:production"


def approval_settings(settings: Settings) -> Settings:
    """``settings`` with an approver allow-list (a group among it) and one token per user;
    mallory holds a token but is on no list."""
    return settings.model_copy(update={
        "approvers": ["alice", "bob", "carol", "group:sre"],
        "approver_groups": {"sre": ["dave"]},
        "api_tokens": SecretStr("alice=tok-alice,bob=tok-bob,carol=tok-carol,dave=tok-dave,"
                                "mallory=tok-mallory"),
        "sticky_timeout_seconds": 1.0,
    })


class Case:
    """One incident of a test: its flag, its health key, its id."""

    def __init__(self, client: Client, settings: Settings, redis_client: aioredis.Redis) -> None:
        self.name = uuid.uuid4().hex[:8]
        self.flag = f"test-{self.name}"
        self.incidents = Incidents(client, settings.task_queue)
        self.redis = redis_client
        self.id = ""
        self.payload: dict[str, object] = {}

    async def open(self, alertname: str = "TestApprovalAlert") -> PendingApproval:
        await self.redis.hset(FLAGS, self.flag, "on")
        await self.redis.set(f"health:{self.name}", "ok")
        self.payload = payload = alertmanager_payload(alertname, case=self.name)
        batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
        self.id = (await self.incidents.open_or_join(batch)).id
        return await self.waiting()

    async def waiting(self) -> PendingApproval:
        async def probe() -> PendingApproval | None:
            return next(iter(await self.incidents.pending(self.id)), None)

        return await eventually(probe, timeout=60, what="a step waiting for approval")

    async def decide(self, user: str, plan_hash: str | None, approve: bool = True) -> object:
        request = ApprovalRequest(step=(await self.waiting()).step_id, approver=user,
                                  plan_hash=plan_hash, reason="test", approve=approve)
        return await self.incidents.decide(
            self.id, sign(self.id, request, f"tok-{user}", datetime.now(UTC)))

    async def done(self) -> IncidentView:
        return await wait_done(self.incidents, self.id, timeout=60)

    async def writes(self) -> int:
        return int(await self.redis.hget(FLAGS + ":writes", self.flag) or 0)

    async def flag_value(self) -> str | None:
        value = await self.redis.hget(FLAGS, self.flag)
        return value.decode() if isinstance(value, bytes) else value


def signal_body(case_id: str, step: str, user: str, plan_hash: str | None,
                key: str | None, issued_at: datetime | None = None) -> ApprovalSignal:
    """The ``approve`` signal's payload for ``user``, signed with ``key`` (unsigned if None)."""
    request = ApprovalRequest(step=step, approver=user, plan_hash=plan_hash)
    if key is not None:
        request = sign(case_id, request, key, issued_at or datetime.now(UTC))
    return ApprovalSignal.model_validate(request.model_dump(exclude={"approve", "via"}))


async def refusals(case: Case, at_least: int) -> list[str]:
    """The details of the refused decisions in the case's timeline, once there are
    ``at_least`` of them."""

    async def probe() -> list[str] | None:
        found = [e.detail for e in (await case.incidents.view(case.id)).timeline
                 if e.kind == REFUSED]
        return found if len(found) >= at_least else None

    return await eventually(probe, timeout=30, what=f"{at_least} recorded refusal(s)")
