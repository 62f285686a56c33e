"""What the investigation found at incident start (seed 02 Phase 3, seed 04
"Investigation Methodology"): one line per source, the changes before onset, and the
suspect change. Small on purpose: it rides in workflow histories; the full bundle
(series, pod lists, queries) is stored beside the postmortem and named by ``artefact``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from remediator.models.contract import Contract

ChangeKind = Literal["rollout", "flag", "parameter", "lambda", "asg", "remediator"]
# At most this many changes are carried; the rest stay in the stored bundle.
CARRIED_CHANGES = 10


def ago(seconds: float) -> str:
    """"3 min", "2 h", "40 s": how far apart two moments are, for people."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


class Change(Contract):
    """One change to a system, found in its own history (a rollout, a flag flip, …)."""

    at: datetime
    kind: ChangeKind
    target: str
    summary: str
    by_remediator: bool = False
    # How closely the change relates to the alert: 2 its own target, 1 its namespace,
    # environment or service, 0 elsewhere.
    relation: int = Field(0, ge=0, le=2)

    def describe(self, onset: datetime) -> str:
        """"production/checkout rolled out checkout:broken-1.5.0 at 10:02, 3 min before onset"."""
        delta = (onset - self.at).total_seconds()
        when = "before" if delta >= 0 else "after"
        return f"{self.summary} at {self.at:%H:%M} UTC, {ago(delta)} {when} onset"


class SourceNote(Contract):
    """How one source answered: ``ok`` with what it found, or why it could not."""

    source: str
    ok: bool
    detail: str = Field(max_length=500)

    def line(self) -> str:
        return f"{self.source}: {self.detail}" if self.ok else f"{self.source}: unavailable ({self.detail})"


class EvidenceSummary(Contract):
    """The evidence bundle's summary: what approvers, the timeline and the postmortem show."""

    onset: datetime
    collected_at: datetime
    sources: list[SourceNote] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list, max_length=CARRIED_CHANGES)
    suspect: Change | None = None
    # The metric the chart draws: the runbook's first Prometheus check, else the alert's own.
    main_query: str | None = None
    # Where the full bundle is (a path or s3:// URL), None if it could not be stored.
    artefact: str | None = None

    def suspect_line(self) -> str:
        if self.suspect is None:
            return "no change found in the 24 h before onset"
        return self.suspect.describe(self.onset)

    def text(self) -> str:
        """A few lines for an approver: the suspect, then each source."""
        lines = [f"suspect: {self.suspect_line()}", *(s.line() for s in self.sources)]
        if self.artefact:
            lines.append(f"bundle: {self.artefact}")
        return "\n".join(lines)
