"""The seal check itself (pure: no server): every way a seal can fail, and one that holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.common.v1 import Payload

from workflows.support.seals import Seal, mac_of, payload_digest, seal_refusal

KEY, OLD_KEY = b"current key", b"previous key"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PAYLOADS = [Payload(metadata={"encoding": b"json/plain"}, data=b'{"x": 1}')]


def _seal(key: bytes = KEY, **changes: object) -> Seal:
    seal = Seal(sender="INC-2026-0001/mitigate", run="r1", n=1, at=NOW, to="INC-2026-0001",
                signal="record", digest=payload_digest(PAYLOADS))
    seal = seal.model_copy(update=changes)
    seal.mac = mac_of(key, seal)
    return seal


def _refusal(seal: Seal | None, payloads: list[Payload] = PAYLOADS,
             to: str = "INC-2026-0001", signal: str = "record") -> str | None:
    return seal_refusal([KEY, OLD_KEY], seal, to, signal, payloads, NOW)


def test_a_seal_made_with_a_current_or_previous_key_holds() -> None:
    assert _refusal(_seal()) is None
    assert _refusal(_seal(OLD_KEY)) is None


@pytest.mark.parametrize(("seal", "to", "signal", "payloads", "why"), [
    (None, "INC-2026-0001", "record", PAYLOADS, "not sealed"),
    (_seal(b"another key"), "INC-2026-0001", "record", PAYLOADS, "does not verify"),
    (_seal(), "INC-2026-0002", "record", PAYLOADS, "not this"),
    (_seal(), "INC-2026-0001", "severity_raised", PAYLOADS, "not this"),
    (_seal(), "INC-2026-0001", "record",
     [Payload(metadata={"encoding": b"json/plain"}, data=b'{"x": 2}')], "not the one sealed"),
    (_seal(), "INC-2026-0001", "record",
     [Payload(metadata={"encoding": b"binary/plain"}, data=b'{"x": 1}')], "not the one sealed"),
    (_seal(at=NOW - timedelta(hours=1)), "INC-2026-0001", "record", PAYLOADS, "before this run"),
])
def test_a_seal_that_does_not_hold_says_why(seal: Seal | None, to: str, signal: str,
                                            payloads: list[Payload], why: str) -> None:
    refusal = _refusal(seal, payloads, to, signal)
    assert refusal is not None and why in refusal


def test_a_seal_whose_fields_were_changed_after_sealing_does_not_verify() -> None:
    seal = _seal()
    for change in ({"sender": "INC-2026-0001"}, {"n": 2}, {"run": "r2"}):
        refusal = _refusal(seal.model_copy(update=change))
        assert refusal is not None and "does not verify" in refusal
