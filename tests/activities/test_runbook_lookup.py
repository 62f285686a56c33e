"""The detect phase's one lookup: the runbook and the policy together, and a runbook that
cannot be used reported beside the policy instead of failing the lookup."""

from __future__ import annotations

import shutil
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.runbooks import RunbookActivities, RunbookQuery
from remediator.models.policy import IncidentPolicy, Timings
from workflows.catalogue import lookup

RUNBOOKS = Path(__file__).parents[1] / "runbooks"
POLICY = IncidentPolicy(timings=Timings(verify_interval_seconds=7.0))


def _activities(tmp_path: Path, text: str | None = None) -> RunbookActivities:
    shutil.copy(RUNBOOKS / "test-flag.yaml", tmp_path / "flag.yaml")
    if text is not None:
        (tmp_path / "broken.yaml").write_text(text)
    return RunbookActivities(tmp_path, POLICY, lookup)


async def test_the_matching_runbook_comes_with_the_policy(tmp_path: Path) -> None:
    runbooks = _activities(tmp_path)
    query = RunbookQuery(labels={"alertname": "TestFlagAlert", "case": "c1"})
    found = await ActivityEnvironment().run(runbooks.find_runbook_with_policy, query)
    alone = await ActivityEnvironment().run(runbooks.find_runbook, query)
    assert found.runbook is not None and found.runbook == alone
    assert found.runbook.steps[0].params["flag"] == "test-c1", "labels filled in"
    assert found.error is None and found.policy == POLICY


async def test_a_label_the_runbook_needs_missing_is_an_error_beside_the_policy(
    tmp_path: Path,
) -> None:
    found = await ActivityEnvironment().run(
        _activities(tmp_path).find_runbook_with_policy,
        RunbookQuery(labels={"alertname": "TestFlagAlert"}))
    assert found.runbook is None and found.policy == POLICY
    assert found.error == "error: runbook test-flag: the runbook needs the alert label 'case'"


async def test_no_match_is_no_runbook_and_still_the_policy(tmp_path: Path) -> None:
    found = await ActivityEnvironment().run(
        _activities(tmp_path).find_runbook_with_policy,
        RunbookQuery(labels={"alertname": "NothingMatches"}))
    assert (found.runbook, found.error, found.policy) == (None, None, POLICY)


async def test_an_invalid_runbook_is_an_error_beside_the_policy(tmp_path: Path) -> None:
    found = await ActivityEnvironment().run(
        _activities(tmp_path, "name: [not, a, runbook\n").find_runbook_with_policy,
        RunbookQuery(labels={"alertname": "TestFlagAlert"}))
    assert found.runbook is None and found.policy == POLICY
    assert found.error is not None and found.error.startswith("error: invalid runbook"), found.error
