"""The workers' internal key: configured, or made once per state directory and kept."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from remediator.internal_key import KEY_FILE, internal_keys
from remediator.settings import Settings


def test_without_a_configured_key_one_is_made_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    [key] = internal_keys(settings)
    path = tmp_path / "state" / KEY_FILE
    assert len(key) == 64 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert internal_keys(Settings(state_dir=tmp_path / "state")) == [key], "a restart reuses it"


def test_a_configured_key_seals_and_previous_keys_still_verify(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, internal_key=SecretStr(" new "),
                        internal_keys_previous=SecretStr("old1, old2,"))
    assert internal_keys(settings) == [b"new", b"old1", b"old2"]
    assert not (tmp_path / KEY_FILE).exists()
