"""The fast tier: workflows on the dev server against activities faked by name
(``fakes.py``); no Redis, Kubernetes or other server, so each test takes seconds."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.go_ahead import GoAheadActivities
from activities.guard import GuardActivities, GuardLink
from remediator.models.alert import Alert
from remediator.models.approval import ApprovalPolicy
from remediator.models.comms import CommsPolicy
from remediator.models.guard import GuardPolicy
from remediator.models.mitigation import MitigationStep, RiskLevel
from remediator.models.policy import IncidentPolicy, Timings
from remediator.models.runbook import Check, Runbook, VerifySpec
from tests.workflows.fakes import Fakes
from workers.heartbeats import HeartbeatInterceptor
from workers.main import WORKFLOWS, workflow_runner
from workers.seals import SealInterceptor
from workers.slot_return import SlotReturnInterceptor
from workflows.incident import IncidentWorkflow
from workflows.incident_models import IncidentInput
from workflows.support import search

FAST = Timings(verify_interval_seconds=0.2, verify_window_p0_p1_seconds=0.6,
               verify_window_p2_p3_seconds=0.6, mitigation_timeout_seconds=3.0)


def runbook(risk: RiskLevel = RiskLevel.LOW) -> Runbook:
    return Runbook(name="fast-flag", owner="team-checkout", match={"alertname": "FastAlert"},
                   steps=[MitigationStep(id="flip", action="feature_flag.set", risk=risk,
                                         params={"flag": "checkout-v2", "value": "off"})],
                   verify=VerifySpec(checks=[Check(source="redis_key", target="health:x")]))


def policy(approvers: list[str] | None = None, comms: CommsPolicy | None = None) -> IncidentPolicy:
    return IncidentPolicy(timings=FAST, approvals=ApprovalPolicy(approvers=approvers or []),
                          comms=comms or CommsPolicy())


@pytest.fixture
async def fast_client(temporal_server: object) -> Client:
    address: str = temporal_server.address  # type: ignore[attr-defined]
    return await Client.connect(address, data_converter=pydantic_data_converter)


Start = Callable[[Fakes], Awaitable[WorkflowHandle[IncidentWorkflow, object]]]


def guard_activities(guard: GuardActivities) -> list[Callable[..., object]]:
    return [guard.guard_admit, guard.guard_step_started, guard.guard_step_finished,
            guard.guard_verification_recorded, guard.guard_recurred, guard.guard_release,
            guard.guard_stale_holders]


@pytest.fixture
async def start_incident(fast_client: Client) -> AsyncIterator[Start]:
    """Starts an incident with its fakes, and a worker for it; both end with the test."""
    workers: list[Worker] = []
    handles: list[WorkflowHandle[IncidentWorkflow, object]] = []

    async def start(fakes: Fakes) -> WorkflowHandle[IncidentWorkflow, object]:
        queue = f"fast-{uuid.uuid4().hex[:8]}"
        # The guard is Temporal alone: the real one, of this test only.
        guard = GuardActivities(GuardLink(fast_client, f"guard-{queue}", queue, GuardPolicy()))
        worker = Worker(fast_client, task_queue=queue, workflows=WORKFLOWS,
                        activities=[*fakes.activities(), *guard_activities(guard),
                                    GoAheadActivities(fakes.still_firing, guard)
                                    .guard_step_started_if_firing],
                        workflow_runner=workflow_runner(),
                        interceptors=[HeartbeatInterceptor(),
                                      SlotReturnInterceptor(guard.guard_step_finished),
                                      SealInterceptor([b"fast tier"])])
        await worker.__aenter__()
        workers.append(worker)
        incident_id = f"INC-2099-{uuid.uuid4().int % 10**8:08d}"
        alert = Alert(source="generic", name="FastAlert", labels={"alertname": "FastAlert",
                      "service": "checkout", "severity": "warning"},
                      fingerprint=uuid.uuid4().hex[:16], received_at=datetime.now(UTC))
        handle = await fast_client.start_workflow(
            IncidentWorkflow.run, IncidentInput(incident_id=incident_id, alerts=[alert]),
            id=incident_id, task_queue=queue, search_attributes=search.at_open())
        handles.append(handle)
        return handle

    yield start
    for handle in handles:  # what a test left waiting (approval, handed over) ends here
        with contextlib.suppress(RPCError):
            await handle.terminate("fast-tier test over")
    for worker in workers:
        await worker.__aexit__(None, None, None)
