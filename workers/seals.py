"""The worker's seal on signals between remediator's workflows (see ``workflows/support/seals.py``).

Outgoing: every sealed signal a workflow sends gets a ``remediator-seal`` header with an
HMAC made with the workers' internal key. Incoming: the seal of every sealed signal is
checked before the handler runs, and the handler gets the verdict with the raw payload.
The key lives only in the worker process (``REMEDIATOR_INTERNAL_KEY``, or a key file in
the state directory); histories hold seals, never the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.worker import (
    HandleSignalInput,
    Interceptor,
    SignalChildWorkflowInput,
    SignalExternalWorkflowInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from workflows.support.seals import Seal, SealedValue, mac_of, payload_digest, seal_refusal
from workflows.support.signals import SEAL_HEADER, SEALED


class _SealOutgoing(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, key: bytes) -> None:
        super().__init__(next)
        self._key = key
        self._sent = 0  # per run; replay sends the same signals in the same order

    def _sealed(self, signal: str, to: str, args: Sequence[Any],
                headers: dict[str, Payload]) -> dict[str, Payload]:
        if signal not in SEALED:
            return headers
        self._sent += 1
        info = workflow.info()
        seal = Seal(sender=info.workflow_id, run=info.run_id, n=self._sent, at=workflow.now(),
                    to=to, signal=signal,
                    digest=payload_digest(workflow.payload_converter().to_payloads(args)))
        seal.mac = mac_of(self._key, seal)
        return {**headers, SEAL_HEADER: workflow.payload_converter().to_payload(seal)}

    async def signal_external_workflow(self, input: SignalExternalWorkflowInput) -> None:
        input.headers = self._sealed(input.signal, input.workflow_id, input.args,
                                     dict(input.headers))
        await self.next.signal_external_workflow(input)

    async def signal_child_workflow(self, input: SignalChildWorkflowInput) -> None:
        input.headers = self._sealed(input.signal, input.child_workflow_id, input.args,
                                     dict(input.headers))
        await self.next.signal_child_workflow(input)


class _SealCheck(WorkflowInboundInterceptor):
    keys: tuple[bytes, ...] = ()

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self._delivered: set[tuple[str, int]] = set()
        super().init(_SealOutgoing(outbound, self.keys[0]))

    async def handle_signal(self, input: HandleSignalInput) -> None:
        if input.signal in SEALED and input.args and all(
                isinstance(a, RawValue) for a in input.args):
            input.args = self._checked(input.signal, input.args, input.headers)
        await self.next.handle_signal(input)

    def _checked(self, signal: str, args: Sequence[RawValue],
                 headers: Any) -> list[SealedValue]:
        seal = self._seal(headers.get(SEAL_HEADER))
        info = workflow.info()
        payloads = [a.payload for a in args]
        why = seal_refusal(self.keys, seal, info.workflow_id, signal, payloads, info.start_time)
        if why is None and seal is not None:
            if (seal.run, seal.n) in self._delivered:
                why = "delivered before (a replay)"
            self._delivered.add((seal.run, seal.n))
        sender = seal.sender if seal is not None else ""
        return [SealedValue(payload=p, sender=sender, refusal=why) for p in payloads]

    @staticmethod
    def _seal(header: Payload | None) -> Seal | None:
        if header is None:
            return None
        try:
            return workflow.payload_converter().from_payload(header, Seal)
        except Exception:  # a header someone made up
            return None


class SealInterceptor(Interceptor):
    """Seals and checks signals between workflows; ``keys[0]`` seals, any key verifies
    (earlier keys stay accepted while histories sealed with them may replay)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or not all(keys):
            raise ValueError("the seal interceptor needs at least one non-empty key")
        self._check = type("SealCheck", (_SealCheck,), {"keys": tuple(keys)})

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return self._check
