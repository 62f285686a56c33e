"""``remediator runbook actions`` and ``remediator runbook match``: what a runbook may
use, and which runbook an alert would get — offline, nothing started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starters.cli import app
from tests.conftest import TESTS
from tests.support.alerts import alertmanager_payload, pagerduty_payload
from workflows.catalogue import CATALOGUE

RUNBOOKS = TESTS / "runbooks"
PACKAGED = TESTS.parent / "remediator" / "runbooks" / "library"
runner = CliRunner()


def test_actions_lists_the_whole_catalogue_with_risks_undo_and_params() -> None:
    done = runner.invoke(app, ["runbook", "actions", "--json"])
    assert done.exit_code == 0, done.output
    listed = {a["action"]: a for a in json.loads(done.output)}
    assert set(listed) == set(CATALOGUE)
    flag = listed["feature_flag.set"]
    assert flag["risk"] == "low" and flag["undo"] is True
    assert flag["params"]["flag"] == {"type": "string", "required": True, "default": None}
    assert flag["params"]["store"]["type"] == "'redis' | 'ssm'"
    assert listed["cache.flush"]["undo"] is False
    to_revision = listed["kubernetes.rollout_undo"]["params"]["to_revision"]
    assert to_revision["type"] == "integer | 'before_suspect' | null"
    human = runner.invoke(app, ["runbook", "actions"])
    assert "kubernetes.rollout_undo  (risky by default, undoable)" in human.output


def _match(tmp_path: Path, payload: object, directory: Path = RUNBOOKS) -> tuple[int, str]:
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(payload))
    done = runner.invoke(app, ["runbook", "match", str(alert), "--dir", str(directory)])
    return done.exit_code, done.output


def test_match_fills_the_steps_from_the_alert_labels(tmp_path: Path) -> None:
    code, out = _match(tmp_path, alertmanager_payload("KubeDeploymentRolloutStuck",
                                                      namespace="shop", deployment="cart"),
                       PACKAGED)
    assert code == 0, out
    assert out.splitlines() == [
        "runbook kubernetes-rollback",
        '  step rollback-deployment: kubernetes.rollout_undo (risky) '
        '{"deployment": "cart", "namespace": "shop", "wait_seconds": 300}',
        "  verify: kubernetes shop/cart",
    ]


@pytest.mark.parametrize(("payload", "expected"), [
    (pagerduty_payload("PXYZ"), "runbook test-pagerduty"),
    (alertmanager_payload("TestShadowAlert", case="c1"), "runbook test-shadow (dry run: plans only)"),
])
def test_match_reads_every_alert_format(tmp_path: Path, payload: object, expected: str) -> None:
    code, out = _match(tmp_path, payload)
    assert code == 0 and out.splitlines()[0] == expected, out


def test_no_match_missing_label_and_bad_payload_are_said(tmp_path: Path) -> None:
    code, out = _match(tmp_path, alertmanager_payload("NoRunbookAlert"))
    assert code == 1 and "the incident would go to humans" in out
    code, out = _match(tmp_path, alertmanager_payload("KubeDeploymentRolloutStuck"), PACKAGED)
    assert code == 1 and "needs the alert label 'namespace'" in out
    code, out = _match(tmp_path, {"version": "4", "groupKey": "g", "alerts": []})
    assert code == 2 and "not an Alertmanager v4 webhook" in out
    code, out = _match(tmp_path, pagerduty_payload("PXYZ", event_type="pagey.ping"))
    assert code == 1 and "no incident: event type 'pagey.ping' is not acted on" in out


def test_validate_warns_of_missing_best_practices_without_failing(tmp_path: Path) -> None:
    runbook = tmp_path / "flush.yaml"
    runbook.write_text(
        "name: flush\nmatch: {alertname: X}\nsteps:\n"
        "  - {id: wipe, action: cache.flush, params: {pattern: 'x:*'}}\n"
        "verify: {checks: [{source: redis_key, target: k}]}\n")
    done = runner.invoke(app, ["runbook", "validate", str(runbook)])
    assert done.exit_code == 0
    assert f"{runbook}: warning: step wipe (cache.flush) cannot be undone" in done.output
    assert "no version/last_verified" in done.output
    packaged = runner.invoke(app, ["runbook", "validate",
                                   str(PACKAGED / "checkout-feature-flag.yaml")])
    assert packaged.exit_code == 0 and "warning" not in packaged.output


@pytest.mark.parametrize("example", sorted((TESTS.parent / "remediator" / "examples").glob("*.json")),
                         ids=lambda p: p.stem)
def test_every_shipped_example_alert_gets_the_checkout_runbook(example: Path) -> None:
    done = runner.invoke(app, ["runbook", "match", str(example), "--dir", str(PACKAGED)])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0].startswith("runbook checkout-feature-flag")
