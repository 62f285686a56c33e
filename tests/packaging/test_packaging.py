"""The shipped artefacts a user relies on: compose file, runbooks, CLI entry points."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from remediator.runbooks.loading import load_runbooks
from remediator.settings import PACKAGED_RUNBOOKS
from workflows.catalogue import lookup

ROOT = Path(__file__).parents[2]


def test_compose_file_parses_and_names_the_services() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgresql", "temporal", "temporal-ui", "redis", "worker", "webhook"} <= set(services)
    assert services["worker"]["command"] == ["remediator", "worker"]
    assert services["webhook"]["command"] == ["remediator", "serve"]
    assert services["worker"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "REMEDIATOR_WEBHOOK_TOKEN" in services["webhook"]["environment"]
    # Beyond loopback, reading incidents needs an API token: serve refuses to start without.
    assert "REMEDIATOR_API_TOKENS" in services["webhook"]["environment"]


def test_every_packaged_runbook_is_valid() -> None:
    runbooks = load_runbooks(PACKAGED_RUNBOOKS, lookup)
    assert runbooks, "at least one example runbook ships"


def test_package_data_ships_the_runbook_library_and_the_examples() -> None:
    # An installed wheel holds only what package-data names: the default
    # REMEDIATOR_RUNBOOK_DIR and the example alerts must be in it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {
        path
        for package, patterns in config["tool"]["setuptools"]["package-data"].items()
        for pattern in patterns
        for path in (ROOT / package.replace(".", "/")).glob(pattern)
    }
    needed = [*PACKAGED_RUNBOOKS.glob("*.yaml"), *(ROOT / "remediator" / "examples").glob("*.json")]
    assert PACKAGED_RUNBOOKS == ROOT / "remediator" / "runbooks" / "library"
    assert len(needed) > 5
    assert set(needed) <= shipped


def test_cli_lists_the_documented_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "starters.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("dev", "worker", "serve", "alert", "incidents", "status", "postmortem",
                    "runbook", "maintenance", "pause", "resume", "guard"):
        assert command in out
