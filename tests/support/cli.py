"""Run the ``remediator`` CLI as a user would: a separate process, configured only
through the environment of ``settings``."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from remediator.settings import Settings
from tests.support.env import settings_env


async def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m starters.cli ARGS`` against the servers ``settings`` name."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "starters.cli", *args], capture_output=True,
        text=True, env=settings_env(settings), timeout=60,
    )
