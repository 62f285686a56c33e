"""Metric label values with bounded cardinality: a label takes the values it is told
to expect plus at most a few more seen at run time; everything beyond is ``other``."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

OTHER = "other"
UNKNOWN = "unknown"
# What a label value may look like: short, no spaces or quotes (never free text).
SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


class BoundedLabel:
    """Maps raw values to at most ``len(known) + extra`` distinct label values."""

    def __init__(self, known: Iterable[str] = (), extra: int = 20) -> None:
        self._known = {k for k in known if SHAPE.match(k)}
        self._seen: set[str] = set()
        self._extra = extra
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if not value:
            return UNKNOWN
        if value in self._known:
            return value
        if not SHAPE.match(value):
            return OTHER
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self._extra:
                self._seen.add(value)
                return value
        return OTHER
