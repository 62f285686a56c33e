"""Signals as an outsider sends them: straight to the Temporal frontend, with any header.

A test plays the attacker who reaches the frontend (unsealed or replayed signals) and,
with the workers' key, a sender whose seal verifies (to reach the checks behind it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.api.common.v1 import Header, Payload, Payloads, WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client

from workflows.support.seals import Seal, mac_of, payload_digest
from workflows.support.signals import SEAL_HEADER


async def send_raw(client: Client, workflow_id: str, signal: str, payloads: list[Payload],
                   header: dict[str, Payload] | None = None) -> None:
    await client.workflow_service.signal_workflow_execution(SignalWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        signal_name=signal, input=Payloads(payloads=payloads), identity="outsider",
        request_id=str(uuid.uuid4()), header=Header(fields=header or {})))


def payloads_of(client: Client, arg: object) -> list[Payload]:
    return list(client.data_converter.payload_converter.to_payloads([arg]))


def sealed_header(client: Client, key: bytes, sender: str, to: str, signal: str,
                  payloads: list[Payload], n: int = 1,
                  at: datetime | None = None) -> dict[str, Payload]:
    seal = Seal(sender=sender, run=str(uuid.uuid4()), n=n, at=at or datetime.now(UTC), to=to,
                signal=signal, digest=payload_digest(payloads))
    seal.mac = mac_of(key, seal)
    return {SEAL_HEADER: client.data_converter.payload_converter.to_payload(seal)}


async def send(client: Client, workflow_id: str, signal: str, arg: object,
               key: bytes | None = None, sender: str = "") -> None:
    """Unsealed without a key; sealed as ``sender`` with one."""
    payloads = payloads_of(client, arg)
    header = (sealed_header(client, key, sender, workflow_id, signal, payloads)
              if key is not None else None)
    await send_raw(client, workflow_id, signal, payloads, header)


async def signals_received(client: Client, workflow_id: str, signal: str) -> list[HistoryEvent]:
    """The workflow's history events of this signal, headers and payloads as delivered."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
            and e.workflow_execution_signaled_event_attributes.signal_name == signal]
