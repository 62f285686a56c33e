"""What one source found: a line for people, the changes it saw, and raw detail for
the stored bundle (never for workflow history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from remediator.models.evidence import Change

# One source's line stays short: it is shown on approval requests.
LINE_CHARS = 400


@dataclass
class Found:
    """A source's answer: ``line`` (one sentence), ``changes``, and ``detail`` (JSON-able)."""

    line: str
    changes: list[Change] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    # Per Deployment "ns/name": the suspect rollout's ReplicaSet and the one before it.
    suspects: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.line if len(self.line) <= LINE_CHARS else self.line[: LINE_CHARS - 1] + "…"
