"""``alertmanager.silence`` against a real Alertmanager: one silence per step, visible
through its API; dry-run and refusals change nothing; undo expires it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from activities.alertmanager.silence import SilenceActivities, SilenceParams
from remediator.models.mitigation import MitigationResult, RiskLevel, UndoResult
from tests.activities.alertmanager.conftest import case_name
from tests.activities.common import apply_req, new_case, refused, run, undo_req
from tests.support.alertmanager import AlertmanagerServer, silences
from workflows.catalogue import lookup


async def ours(alertmanager: AlertmanagerServer, name: str) -> list[dict[str, Any]]:
    return [s for s in await silences(alertmanager.url)
            if any(m["value"] == name for m in s["matchers"])]


async def test_creates_exactly_one_silence_and_a_repeat_finds_it(
        silencer: SilenceActivities, alertmanager: AlertmanagerServer) -> None:
    case, name = new_case(), case_name()
    params = {"matchers": [f"alertname={name}", "service=~check.*"], "duration_seconds": 600,
              "comment": "quiet while the flag rolls back"}
    first: MitigationResult = await run(silencer.create_silence, apply_req(case, "s", params))
    again: MitigationResult = await run(silencer.create_silence, apply_req(case, "s", params))
    [silence] = await ours(alertmanager, name)
    assert first.applied and first.undo is not None and again.undo is not None
    assert first.undo["silence_id"] == again.undo["silence_id"] == silence["id"]
    assert silence["status"] == {"state": "active"} and silence["createdBy"] == "remediator"
    assert silence["comment"] == (f"quiet while the flag rolls back incident inc-{case} step s "
                                  f"[remediator silence inc-{case}:s]")
    assert {(m["name"], m["value"], m["isRegex"], m["isEqual"])
            for m in silence["matchers"]} == {
        ("alertname", name, False, True), ("service", "check.*", True, True)}
    assert f'silence {silence["id"]}: {{alertname="{name}", service=~"check.*"}} for 10 min' \
        in first.detail
    # Another step of the same incident is another silence.
    await run(silencer.create_silence, apply_req(case, "s2", params))
    assert len(await ours(alertmanager, name)) == 2


async def test_dry_run_names_the_silence_and_creates_none(
        silencer: SilenceActivities, alertmanager: AlertmanagerServer) -> None:
    case, name = new_case(), case_name()
    params = {"matchers": [f"alertname={name}"], "duration_seconds": 120}
    plan: MitigationResult = await run(silencer.create_silence,
                                       apply_req(case, "s", params, dry_run=True))
    assert plan.dry_run and not plan.applied and plan.undo is None
    assert plan.detail == (
        f'would create a silence {{alertname="{name}"}} for 2 min (as the step says), createdBy '
        f"remediator, comment 'incident inc-{case} step s [remediator silence inc-{case}:s]', "
        f"at Alertmanager {alertmanager.url}")
    assert await ours(alertmanager, name) == []


async def test_refuses_alertnames_off_the_allow_list_and_silences_without_one(
        silencer: SilenceActivities, alertmanager: AlertmanagerServer) -> None:
    case = new_case()
    off = case_name("Other")
    error = await refused(silencer.create_silence,
                          apply_req(case, "s", {"matchers": [f"alertname={off}"]}), "NotAllowed")
    assert "REMEDIATOR_SILENCE_ALLOWLIST" in str(error)
    nameless = {"matchers": ["service=checkout"]}
    error = await refused(silencer.create_silence, apply_req(case, "s", nameless), "NotAllowed")
    assert "must name its alertname with '='" in str(error)
    regex = {"matchers": ["alertname=~SilenceTest.*"]}
    await refused(silencer.create_silence, apply_req(case, "s", regex, dry_run=True), "NotAllowed")
    assert await ours(alertmanager, off) == []


async def test_undo_expires_the_silence_and_again_is_fine(
        silencer: SilenceActivities, alertmanager: AlertmanagerServer) -> None:
    case, name = new_case(), case_name()
    applied: MitigationResult = await run(silencer.create_silence, apply_req(
        case, "s", {"matchers": [f"alertname={name}"], "duration_seconds": 600}))
    undone: UndoResult = await run(silencer.expire_silence, undo_req(case, "s", applied.undo))
    [silence] = await ours(alertmanager, name)
    assert undone.undone and silence["status"] == {"state": "expired"}
    assert undone.detail == f"silence {silence['id']} expired"
    again: UndoResult = await run(silencer.expire_silence, undo_req(case, "s", applied.undo))
    assert again.undone and "had expired already" in again.detail


async def test_undo_leaves_a_silence_it_did_not_create(
        silencer: SilenceActivities, alertmanager: AlertmanagerServer) -> None:
    case, name = new_case(), case_name()
    applied: MitigationResult = await run(silencer.create_silence, apply_req(
        case, "s", {"matchers": [f"alertname={name}"], "duration_seconds": 600}))
    assert applied.undo is not None
    forged = {**applied.undo, "tag": "[remediator silence somebody-else:s]"}
    await refused(silencer.expire_silence, undo_req(case, "s", forged), "Rejected")
    [silence] = await ours(alertmanager, name)
    assert silence["status"] == {"state": "active"}


async def test_without_matchers_an_unknown_incident_is_refused(
        silencer: SilenceActivities) -> None:
    error = await refused(silencer.create_silence, apply_req(new_case(), "s", {}), "Rejected")
    assert "give the step's matchers" in str(error)


def test_params_are_checked_and_name_their_target() -> None:
    with pytest.raises(ValidationError, match="unknown matcher"):
        SilenceParams.model_validate({"matchers": ["alertname"]})
    with pytest.raises(ValidationError, match="bad regex"):
        SilenceParams.model_validate({"matchers": ["alertname=~("]})
    with pytest.raises(ValidationError):
        SilenceParams.model_validate({"matchers": ["alertname=X"], "typo": 1})
    params = SilenceParams.model_validate({"matchers": ["service=checkout", "alertname=High"]})
    assert params.target() == 'alertmanager:{alertname="High", service="checkout"}'
    assert SilenceParams().target() == "alertmanager:incident-alerts"
    long = SilenceParams.model_validate({"matchers": ["alertname=X", f"pod={'p' * 300}"]})
    assert long.target().startswith("alertmanager:sha256:") and len(long.target()) < 60
    assert lookup("alertmanager.silence").risk == RiskLevel.RISKY
