"""Seals on the signals remediator's workflows send each other (``workflows/support/signals.py``).

A seal names its sender (workflow and run), a per-run counter, when it was sent, the
receiver, the signal and a digest of the payload, and carries an HMAC of all that made
with the workers' internal key. The worker's interceptor (``workers/seals.py``) seals
what goes out and checks what comes in; the receiving workflow's ``Inbox`` then acts on
a signal only if its seal held and its sender is the one allowed to send it. Everything
here is deterministic: the same history and key give the same verdict on replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

from workflows.support.signals import SEALING_PATCH
from workflows.support.versions import patched

T = TypeVar("T")
REFUSED = "signal.refused"
RECORDED_REFUSALS = 5  # per run; the rest are logged and counted, not recorded
CLOCK_SLACK_SECONDS = 300.0


class Seal(BaseModel):
    """The ``remediator-seal`` header of a sealed signal."""

    sender: str
    run: str
    n: int
    at: datetime
    to: str
    signal: str
    digest: str
    mac: str = ""

    def message(self) -> bytes:
        fields = [self.sender, self.run, self.n, self.at.isoformat(), self.to, self.signal,
                  self.digest]
        return json.dumps(fields, separators=(",", ":")).encode()


def payload_digest(payloads: Sequence[Payload]) -> str:
    """The payloads exactly as sent: what the receiver gets is what was sealed."""
    h = hashlib.sha256()
    for p in payloads:
        for part in (p.metadata.get("encoding", b""), p.data):
            h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


def mac_of(key: bytes, seal: Seal) -> str:
    return hmac.new(key, seal.message(), hashlib.sha256).hexdigest()


def seal_refusal(keys: Sequence[bytes], seal: Seal | None, to: str, signal: str,
                 payloads: Sequence[Payload], run_started: datetime) -> str | None:
    """Why a sealed signal must not be believed, or None when it may."""
    if seal is None:
        return "not sealed: only remediator's own workflows may send it"
    if not any(hmac.compare_digest(seal.mac, mac_of(key, seal)) for key in keys):
        return ("the seal does not verify (forged, or workers configured with different "
                "REMEDIATOR_INTERNAL_KEY values)")
    if seal.to != to or seal.signal != signal:
        return f"sealed for {seal.signal!r} to {seal.to!r}, not this"
    if seal.digest != payload_digest(payloads):
        return "the payload is not the one sealed"
    if (run_started - seal.at).total_seconds() > CLOCK_SLACK_SECONDS:
        return "sealed before this run began (a replay)"
    return None


@dataclass(frozen=True)
class SealedValue(RawValue):
    """A signal's raw payload with the interceptor's verdict on its seal."""

    sender: str = ""
    refusal: str | None = "not checked: this worker has no seal interceptor"


class Inbox:
    """A workflow's receiving side of sealed signals: opens the ones it may believe,
    refuses (logged, and the first few recorded through ``note``) the rest."""

    def __init__(self, note: Callable[[str, str], object]) -> None:
        self._note = note
        self.refused = 0

    def open(self, raw: RawValue, signal: str, type_: type[T],
             sender_ok: Callable[[str, T], bool]) -> T | None:
        """The payload if it may be acted on; None once refused."""
        if not patched(SEALING_PATCH):  # recorded before signals were sealed
            return _converted(raw, type_)[0]
        sender = raw.sender if isinstance(raw, SealedValue) else ""
        why = raw.refusal if isinstance(raw, SealedValue) else SealedValue.refusal
        value: T | None = None
        if why is None:
            value, malformed = _converted(raw, type_)
            if value is None:
                why = f"the payload is malformed: {malformed}"
            elif not sender_ok(sender, value):
                why = f"{sender!r} may not send it"
        if why is not None:
            self.refuse(signal, sender, why)
            return None
        return value

    def read(self, raw: RawValue, signal: str, type_: type[T]) -> T | None:
        """Human input (not sealed: it proves itself or is validated): the payload, or
        None once refused as malformed — recorded, never a workflow task failing in a loop."""
        value, malformed = _converted(raw, type_)
        if value is None:
            self.refuse(signal, "", f"malformed: {malformed}")
        return value

    def refuse(self, signal: str, sender: str, why: str) -> None:
        self.refused += 1
        workflow.logger.warning("signal.refused", extra={
            "signal": signal, "sender": sender[:200], "reason": why, "count": self.refused})
        if self.refused <= RECORDED_REFUSALS:
            self._note(REFUSED, f"{signal[:64]} signal refused: {why}")
        elif self.refused == RECORDED_REFUSALS + 1:
            self._note(REFUSED, "further refused signals are logged and counted, not recorded")


def _converted(raw: RawValue, type_: type[T]) -> tuple[T | None, str]:
    """The payload as ``type_``, or None and why not."""
    try:
        value: Any = workflow.payload_converter().from_payload(raw.payload, type_)
    except Exception as exc:  # whatever the converter raises for a foreign payload
        return None, str(exc)[:300]
    return value, ""
