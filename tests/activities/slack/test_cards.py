"""The approval card's Block Kit: the request's evidence first, every section within
Slack's 3,000-character text limit."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.slack.cards import ApprovalCard, blocks

SLACK_TEXT_LIMIT = 3000


def _card(**fields: object) -> ApprovalCard:
    return ApprovalCard.model_validate({
        "incident_id": "INC-1", "step_id": "flip", "action": "feature_flag.set", "risk": "low",
        "plan": "set checkout-v2 to off", "plan_hash": "0123456789abcdef", "required": 1,
        "deadline": datetime(2026, 1, 1, tzinfo=UTC), **fields})


def _sections(card: ApprovalCard) -> list[str]:
    return [b["text"]["text"] for b in blocks(card) if b["type"] == "section"]


def test_the_bundle_comes_first_and_the_timeline_follows() -> None:
    card = _card(findings=["suspect: flag checkout-v2 set to 'on' 3 min before onset",
                           "flags: 1 flag change(s)"],
                 evidence=["P2 · checkout · 1 alert(s)", "10:05 alert.firing: errors"])
    texts = _sections(card)
    first = next(i for i, t in enumerate(texts) if t.startswith("*Evidence*\n"))
    assert texts[first] == ("*Evidence*\n• suspect: flag checkout-v2 set to 'on' 3 min before "
                            "onset\n• flags: 1 flag change(s)")
    assert texts[first + 1].startswith("*Timeline*\n• P2 · checkout")


def test_without_a_bundle_the_timeline_is_the_evidence() -> None:
    texts = _sections(_card(evidence=["10:05 alert.firing: errors"]))
    assert "*Evidence*\n• 10:05 alert.firing: errors" in texts
    assert not any(t.startswith("*Timeline*") for t in texts)


def test_long_evidence_is_cut_within_the_section_limit() -> None:
    card = _card(findings=[f"source{i}: " + "x" * 400 for i in range(10)],
                 evidence=["y" * 500] * 8)
    texts = _sections(card)
    assert all(len(t) <= SLACK_TEXT_LIMIT for t in texts)
    [bundle] = [t for t in texts if t.startswith("*Evidence*")]
    assert bundle.startswith("*Evidence*\n• source0: ") and bundle.endswith("…")
