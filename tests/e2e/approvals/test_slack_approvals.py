"""Approving from Slack: a card per waiting step, signed clicks decided through the same
validated update as the CLI, every rule enforced, every bad request a 4xx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from remediator.settings import Settings
from tests.conftest import ServerThread
from tests.support.approvals import Case
from tests.support.polling import eventually
from tests.support.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackServer,
    click_body,
    signed_headers,
)
from workers.main import running_worker


@pytest.fixture
async def server(client: Client, chat: Settings) -> AsyncIterator[str]:
    async with running_worker(client, chat), ServerThread(chat) as http:
        yield f"{http.base}/v1/slack/interactions"


async def card_of(slack_api: SlackServer, case_id: str) -> dict[str, object]:
    """The approval card posted for the case's incident, once it is there."""
    async def posted() -> dict[str, object] | None:
        return next((c.body for c in slack_api.of("chat.postMessage")
                     if case_id in c.body["text"]), None)

    return await eventually(posted, timeout=30, what="the approval card")


def button(card: dict[str, object], action: str = "approve") -> str:
    [actions] = [b for b in card["blocks"] if b["type"] == "actions"]  # type: ignore[attr-defined]
    return next(e["value"] for e in actions["elements"] if e["action_id"] == action)


async def click(url: str, slack_api: SlackServer, user: str, value: str, action: str = "approve",
                **headers: str) -> httpx.Response:
    body = click_body(user, action, value, slack_api.response_url(user))
    async with httpx.AsyncClient() as http:
        return await http.post(url, content=body, headers={**signed_headers(body), **headers})


async def answered(slack_api: SlackServer, n: int) -> list[dict[str, object]]:
    async def got() -> list[dict[str, object]] | None:
        return list(slack_api.responses) if len(slack_api.responses) >= n else None

    return await eventually(got, timeout=30, what=f"{n} response_url post(s)")


def text_of(message: dict[str, object]) -> str:
    return json.dumps(message)


def section(card: dict[str, object], title: str) -> str:
    """The text of the card's section headed ``*title*``."""
    [text] = [b["text"]["text"] for b in card["blocks"]  # type: ignore[attr-defined]
              if b["type"] == "section" and b["text"]["text"].startswith(f"*{title}*\n")]
    return str(text)


async def test_approve_button_runs_the_step_and_updates_the_card(
    case: Case, slack_api: SlackServer, server: str, client: Client
) -> None:
    pending = await case.open()
    card = await card_of(slack_api, case.id)
    shown = text_of(card)
    assert pending.plan_hash in shown and "alert.firing" in section(card, "Timeline")
    # The request's evidence bundle summary, suspect first, one line per source.
    assert pending.evidence.startswith("suspect: ")
    assert section(card, "Evidence") == "*Evidence*\n" + "\n".join(
        f"• {line}" for line in pending.evidence.splitlines())
    assert slack_api.of("chat.postMessage")[0].auth == f"Bearer {BOT_TOKEN}"
    value = button(card)
    resp = await click(server, slack_api, "U2", value)
    assert resp.status_code == 200
    [message] = await answered(slack_api, 1)
    assert message["replace_original"] is True and "approved by bob" in text_of(message)
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1
    assert any(e.kind == "approval.granted" and "approved by bob" in e.detail
               for e in view.timeline)
    updates = [c for c in slack_api.of("chat.update") if "approved by bob" in text_of(c.body)]
    assert updates and not any(b["type"] == "actions" for b in updates[-1].body["blocks"])
    history = (await client.get_workflow_handle(case.id).fetch_history()).to_json()
    assert BOT_TOKEN not in history and SIGNING_SECRET not in history


@pytest.mark.parametrize(("user", "hash_of", "why"), [
    ("U9", None, "not on the approver allow-list"),  # mallory
    ("U3", None, "requested this step and cannot approve it"),  # carol
    ("U1", "stale", "does not match the current plan"),  # alice with an old plan
])
async def test_each_rule_refuses_a_click_and_nothing_is_decided(
    case: Case, slack_api: SlackServer, server: str, user: str, hash_of: str | None, why: str
) -> None:
    await case.open()
    value = button(await card_of(slack_api, case.id))
    if hash_of is not None:
        value = json.dumps({**json.loads(value), "plan_hash": "0123456789abcdef"})
    resp = await click(server, slack_api, user, value)
    assert resp.status_code == 200  # acknowledged at once; the refusal follows
    [message] = await answered(slack_api, 1)
    assert message["response_type"] == "ephemeral" and message["replace_original"] is False
    assert why in str(message["text"])
    assert (await case.waiting()).approvals == [] and await case.writes() == 0


async def test_dangerous_step_needs_two_distinct_slack_approvers(
    case: Case, slack_api: SlackServer, server: str
) -> None:
    pending = await case.open("TestDangerousAlert")
    assert pending.required == 2
    value = button(await card_of(slack_api, case.id))
    assert (await click(server, slack_api, "U4", value)).status_code == 200  # dave
    [counted] = await answered(slack_api, 1)
    assert "(1/2): waiting for 1 more" in text_of(counted)
    assert any(b["type"] == "actions" for b in counted["blocks"])  # type: ignore[attr-defined]
    await click(server, slack_api, "U4", value)  # dave again
    [_, again] = await answered(slack_api, 2)
    assert "already approved" in str(again["text"]) and await case.writes() == 0
    await click(server, slack_api, "U1", value)  # alice
    [*_, done] = await answered(slack_api, 3)
    assert "approved by dave, alice" in text_of(done)
    view = await case.done()
    assert [s.state for s in view.steps] == ["applied"] and await case.writes() == 1


async def test_reject_button_skips_the_step(case: Case, slack_api: SlackServer, server: str) -> None:
    await case.open()
    value = button(await card_of(slack_api, case.id), "reject")
    await click(server, slack_api, "U2", value, action="reject")
    [message] = await answered(slack_api, 1)
    assert "rejected by bob" in text_of(message)
    view = await case.done()
    assert [s.state for s in view.steps] == ["rejected"] and await case.writes() == 0


async def test_a_cli_decision_updates_the_card(case: Case, slack_api: SlackServer, server: str) -> None:
    pending = await case.open()
    await card_of(slack_api, case.id)
    await case.decide("bob", pending.plan_hash)

    async def updated() -> bool:
        return any("approved by bob" in text_of(c.body) for c in slack_api.of("chat.update"))

    await eventually(updated, timeout=30, what="the card showing bob's approval")
    await case.done()


async def test_forged_stale_replayed_unmapped_and_malformed_requests_are_4xx(
    case: Case, slack_api: SlackServer, server: str
) -> None:
    await case.open()
    value = button(await card_of(slack_api, case.id))
    body = click_body("U2", "approve", value, slack_api.response_url())
    async with httpx.AsyncClient() as http:
        forged = await http.post(server, content=body,
                                 headers=signed_headers(body, secret="not-the-secret"))
        stale = await http.post(server, content=body,
                                headers=signed_headers(body, timestamp=1_600_000_000))
        unsigned = await http.post(server, content=body)
        unmapped_body = click_body("U777", "approve", value, slack_api.response_url())
        unmapped = await http.post(server, content=unmapped_body,
                                   headers=signed_headers(unmapped_body))
        junk = b"payload=%7Bnot-json"
        malformed = await http.post(server, content=junk, headers=signed_headers(junk))
        bad_value_body = click_body("U2", "approve", "{}", slack_api.response_url())
        bad_value = await http.post(server, content=bad_value_body,
                                    headers=signed_headers(bad_value_body))
        # A replay of a request that was refused is still refused as a replay.
        replayed = await http.post(server, content=unmapped_body,
                                   headers=signed_headers(unmapped_body,
                                                          timestamp=int(unmapped.request.headers[
                                                              "x-slack-request-timestamp"])))
    assert forged.status_code == 401 and "signature" in forged.json()["error"]
    assert stale.status_code == 401 and "stale" in stale.json()["error"]
    assert unsigned.status_code == 401
    assert unmapped.status_code == 403 and "not mapped" in unmapped.json()["error"]
    assert malformed.status_code == 400 and bad_value.status_code == 400
    assert replayed.status_code == 409
    assert slack_api.responses == []
    assert (await case.waiting()).approvals == [] and await case.writes() == 0


async def test_a_replayed_approval_is_refused(case: Case, slack_api: SlackServer, server: str) -> None:
    await case.open("TestDangerousAlert")
    value = button(await card_of(slack_api, case.id))
    body = click_body("U4", "approve", value, slack_api.response_url())
    headers = signed_headers(body)
    async with httpx.AsyncClient() as http:
        first = await http.post(server, content=body, headers=headers)
        again = await http.post(server, content=body, headers=headers)
    assert first.status_code == 200 and again.status_code == 409
    await answered(slack_api, 1)
    assert (await case.waiting()).approvals == ["dave"]
