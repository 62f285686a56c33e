"""``remediator dev --demo --once`` (what ``make demo`` runs): the sample alert goes all the
way to a postmortem, and with the local Kubernetes built, a real bad rollout is rolled back
after an approval given through the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from remediator.devstack.kube_cluster import find_kube_binaries


def test_demo_runs_both_incidents_to_a_postmortem(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "TEMPORAL_"))}
    state = tmp_path / "state"
    done = subprocess.run([sys.executable, "-m", "starters.cli", "dev", "--demo", "--once",
                           "--state-dir", str(state)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    finished = re.findall(r"incident (INC-\d{4}-\d{4,}): resolved; postmortem: (\S+)", done.stdout)
    assert finished, done.stdout
    for _, postmortem in finished:
        assert Path(postmortem).read_text().startswith("# Post-Incident Review")
    if find_kube_binaries() is None:
        assert "skipping the rollback demo" in done.stdout
        return
    assert len(finished) == 2, done.stdout
    assert "rollback-deployment: approved: the step runs now" in done.stdout
    assert "default/checkout now runs registry.local/checkout:1.4.0" in done.stdout
    review = Path(finished[1][1]).read_text()
    assert "default/checkout: rolled out: 2 of 2 replicas available" in review
