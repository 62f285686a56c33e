"""Named crash points, so durability tests can SIGKILL a worker at an exact spot.

Inert unless the worker was started with ``REMEDIATOR_CRASH_AT`` naming the point;
a restarted worker is started without it.
"""

from __future__ import annotations

import os
import signal


class CrashPoints:
    """Kills the current process when a configured point is reached."""

    def __init__(self, armed: str | None) -> None:
        self._armed = armed

    def reach(self, name: str) -> None:
        if self._armed and self._armed == name:
            os.kill(os.getpid(), signal.SIGKILL)
