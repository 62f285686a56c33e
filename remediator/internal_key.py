"""The workers' internal key: it seals the signals remediator's workflows send each other.

Every worker of a deployment must hold the same key (``REMEDIATOR_INTERNAL_KEY``). A
single-host setup (the embedded stack, a laptop) may leave it unset: the first worker
then writes a random key to ``<state dir>/internal-key`` (mode 0600) and every later
worker with that state directory uses it.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import structlog

from remediator.settings import Settings

log = structlog.get_logger()
KEY_FILE = "internal-key"


def internal_keys(settings: Settings) -> list[bytes]:
    """The sealing key first, then the earlier keys that still verify."""
    previous = [k.strip().encode() for k in
                (settings.internal_keys_previous.get_secret_value().split(",")
                 if settings.internal_keys_previous else []) if k.strip()]
    if settings.internal_key is not None and settings.internal_key.get_secret_value().strip():
        return [settings.internal_key.get_secret_value().strip().encode(), *previous]
    return [_key_file(settings.state_dir / KEY_FILE), *previous]


def _key_file(path: Path) -> bytes:
    if key := _read(path):
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:  # O_EXCL: two workers starting at once agree on whichever key was written first
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path, wait=True)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    log.warning("internal_key.generated", path=str(path),
                hint="set REMEDIATOR_INTERNAL_KEY on every worker when workers run on "
                     "more than one host")
    return key


def _read(path: Path, wait: bool = False) -> bytes:
    """The key in the file; waits briefly for a worker that has just created it."""
    for _ in range(50 if wait else 1):
        try:
            if key := path.read_bytes().strip():
                return key
        except FileNotFoundError:
            pass
        if wait:
            time.sleep(0.1)
    if wait:
        raise RuntimeError(f"{path} exists but holds no key: delete it or set "
                           "REMEDIATOR_INTERNAL_KEY")
    return b""
