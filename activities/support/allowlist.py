"""Allow-lists of names (glob patterns) that a mitigation may touch."""

from __future__ import annotations

from fnmatch import fnmatchcase

from activities.support.errors import NotAllowed


def require_allowed(kind: str, name: str, allowlist: list[str], setting: str) -> None:
    """Refuse (non-retryable) a ``kind`` named ``name`` that no pattern of ``setting`` matches."""
    if not any(fnmatchcase(name, pattern) for pattern in allowlist):
        raise NotAllowed(f"{kind} {name!r} is not on the allow-list ({setting})").to_application_error()
