"""The suspect change: of every change found before onset, the one most likely to have
caused the incident (pure: tested without any server).

Ranked by relation to the alert first (its own target, then its namespace, service or
environment, then elsewhere), then by closeness to onset; a change stamped just after
onset (within the clock skew) only after those before it, and remediator's own actions
after anyone else's (they answer incidents more often than cause them). Changes later
than that are listed, never suspected.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from remediator.models.evidence import Change

LOOKBACK = timedelta(hours=24)
# An alert's startsAt lags the change it reports, but clocks differ: a change stamped a
# little after onset may still be its cause.
SKEW = timedelta(seconds=60)


def relation(change_target: str, targets: set[str], related: set[str]) -> int:
    """2: one of the runbook's (or the alert's) own targets; 1: it names a related
    namespace, service or environment; 0: elsewhere."""
    if change_target in targets:
        return 2
    return 1 if any(word and word in change_target for word in related) else 0


def candidates(changes: list[Change], onset: datetime) -> list[Change]:
    """Changes in the 24 h before onset (and within the skew after it)."""
    return [c for c in changes if onset - LOOKBACK <= c.at <= onset + SKEW]


def rank(changes: list[Change], onset: datetime) -> list[Change]:
    """Suspects first: the candidates ranked, then later changes by time."""
    def key(c: Change) -> tuple[int, bool, bool, float]:
        return (-c.relation, c.at > onset, c.by_remediator, abs((onset - c.at).total_seconds()))

    suspects = sorted(candidates(changes, onset), key=key)
    later = sorted((c for c in changes if c.at > onset + SKEW), key=lambda c: c.at)
    return suspects + later


def top_suspect(changes: list[Change], onset: datetime) -> Change | None:
    ranked = candidates(changes, onset)
    return rank(ranked, onset)[0] if ranked else None
