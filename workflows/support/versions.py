"""Which code path a workflow takes: one patch marker per release, not one per change.

Every ``workflow.patched`` call that returns True in a new execution records a marker
event and upserts Temporal's ``TemporalChangeVersion`` search attribute (two history
events, and a visibility write). With one id per change, an incident paid that for
every change ever made to its code. Instead, changes are grouped by release: a new
execution records only the current release's marker, and that single marker switches on
every change of this release and all earlier ones.

An execution recorded earlier replays as it ran: it has no marker of the current
release, so each change falls back to its own id (or to an earlier release's marker),
which its history holds exactly when that change's path was taken.

A change to workflow commands made after this release: add a new id at the front of
``RELEASES`` and pass ``since=`` that id where the change is checked; checks of older
changes keep working, because every newer release switches them on too.
"""

from __future__ import annotations

from temporalio import workflow

# Newest first. A new execution records RELEASES[0] only.
RELEASES = ("release-2026-12-e", "release-2026-12-d", "release-2026-12-c", "release-2026-12-b",
            "release-2026-12", "release-2026-11-b", "release-2026-11")


def patched(change: str, since: str = RELEASES[-1]) -> bool:
    """Whether this execution takes the path that ``change`` added.

    ``change``: the change's own patch id, recorded by executions started before
    releases were grouped; ``since``: the release that includes it."""
    for release in RELEASES[: RELEASES.index(since) + 1]:
        if workflow.patched(release):
            return True
    return workflow.patched(change)
