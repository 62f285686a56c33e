"""``remediator maintenance|pause|resume|guard status`` and the pause note of
``remediator incidents`` and ``/healthz``, against a real worker serving the guard."""

from __future__ import annotations

import json

import httpx

from remediator.settings import Settings
from tests.support.cli import cli


async def _status(settings: Settings) -> dict[str, object]:
    shown = await cli(settings, "guard", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    found: dict[str, object] = json.loads(shown.stdout)
    return found


async def test_pause_and_resume_say_who_and_why_everywhere(
    settings: Settings, worker: None, http_base: str,
) -> None:
    nobody = await cli(settings, "pause", "--reason", "deploy freeze")
    assert nobody.returncode == 2
    assert "say who pauses automation with --as USER (nothing was changed)" in nobody.stderr
    no_reason = await cli(settings, "pause", "--as", "alice")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    assert (await _status(settings))["paused"] is None

    paused = await cli(settings, "pause", "--as", "alice", "--reason", "deploy freeze")
    assert paused.returncode == 0, paused.stderr
    assert "automation paused by alice" in paused.stdout
    status = await _status(settings)
    assert status["paused"]["by"] == "alice"  # type: ignore[index]
    human = await cli(settings, "guard", "status")
    assert "automation paused by alice since" in human.stdout and "deploy freeze" in human.stdout
    listed = await cli(settings, "incidents")
    assert listed.stdout.startswith("automation paused by alice since ")
    as_json = await cli(settings, "incidents", "--json")
    assert isinstance(json.loads(as_json.stdout), list) and "paused by alice" in as_json.stderr
    async with httpx.AsyncClient() as http:
        health = (await http.get(http_base + "/healthz")).json()
    assert health["status"] == "ok"
    assert health["automation"]["by"] == "alice" and health["automation"]["reason"] == "deploy freeze"

    resumed = await cli(settings, "resume", "--as", "bob")
    assert resumed.returncode == 0 and "resumed by bob (paused by alice: deploy freeze)" in resumed.stdout
    assert (await _status(settings))["paused"] is None
    async with httpx.AsyncClient() as http:
        assert (await http.get(http_base + "/healthz")).json() == {"status": "ok"}
    assert "paused" not in (await cli(settings, "incidents")).stdout


async def test_maintenance_add_list_end_and_bad_input(settings: Settings, worker: None) -> None:
    added = await cli(settings, "maintenance", "add", "--match", "service=checkout",
                      "--match", "env=~prod.*", "--duration", "2h", "--reason", "db upgrade",
                      "--as", "alice", "--json")
    assert added.returncode == 0, added.stderr
    window_id = json.loads(added.stdout)["id"]

    overlapping = await cli(settings, "maintenance", "add", "--match", "env=~prod.*",
                            "--match", "service=checkout", "--duration", "30m",
                            "--reason", "again", "--as", "bob")
    assert overlapping.returncode == 1
    assert f"refused: overlaps window {window_id} with identical matchers" in overlapping.stderr
    unknown = await cli(settings, "maintenance", "add", "--match", "service~checkout",
                        "--duration", "1h", "--reason", "x", "--as", "bob")
    assert unknown.returncode == 1 and "unknown matcher 'service~checkout'" in unknown.stderr
    backwards = await cli(settings, "maintenance", "add", "--match", "team=db",
                          "--start", "2030-01-02T00:00:00Z", "--end", "2030-01-01T00:00:00Z",
                          "--reason", "x", "--as", "bob")
    assert backwards.returncode == 1 and "before it starts" in backwards.stderr
    nobody = await cli(settings, "maintenance", "add", "--match", "team=db", "--duration", "1h",
                       "--reason", "x")
    assert nobody.returncode == 2 and "--as USER" in nobody.stderr

    listed = await cli(settings, "maintenance", "list")
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{window_id}  open  ")
    assert "by alice: db upgrade" in lines[0]

    ended = await cli(settings, "maintenance", "end", window_id, "--as", "bob")
    assert ended.returncode == 0 and f"{window_id}: ended by bob" in ended.stdout
    again = await cli(settings, "maintenance", "end", window_id, "--as", "bob")
    assert again.returncode == 1 and f"no open or upcoming maintenance window {window_id}" in again.stderr
    assert (await cli(settings, "maintenance", "list")).stdout.strip() == "no maintenance windows"
