"""Runbooks are looked up per incident: a file is parsed again only once it changed, and
every change on disk (edited, added, removed, broken, fixed) applies to the next lookup."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from remediator.runbooks.errors import InvalidRunbook
from remediator.runbooks.loading import RunbookDirectory
from workflows.catalogue import lookup

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"


def _touch_later(path: Path) -> None:
    """A new modification time even within the file system's timestamp granularity."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_unchanged_files_are_not_parsed_again_and_every_change_applies(tmp_path: Path) -> None:
    flag = tmp_path / "flag.yaml"
    shutil.copy(RUNBOOKS / "test-flag.yaml", flag)
    shutil.copy(RUNBOOKS / "test-approval.yaml", tmp_path / "approval.yaml")
    directory = RunbookDirectory(tmp_path, lookup)
    first = {r.name: r for r in directory.load()}
    again = {r.name: r for r in directory.load()}
    assert again.keys() == first.keys() and len(first) == 2
    assert all(again[name] is first[name] for name in first)  # not parsed again

    text = flag.read_text()
    flag.write_text(text.replace(f"name: {_name(text)}", "name: renamed-flag-runbook"))
    _touch_later(flag)
    edited = {r.name: r for r in directory.load()}
    assert "renamed-flag-runbook" in edited and _name(text) not in edited

    (tmp_path / "approval.yaml").unlink()
    assert [r.name for r in directory.load()] == ["renamed-flag-runbook"]

    flag.write_text("name: [broken")
    _touch_later(flag)
    with pytest.raises(InvalidRunbook):
        directory.load()
    flag.write_text(text)
    _touch_later(flag)
    assert [r.name for r in directory.load()] == [_name(text)]


def _name(text: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in text.splitlines()
                if line.startswith("name:"))
