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

Children need no marker at all (since release-2026-12-f): the workflow that starts one
names its own release in the child's memo (``named``), which is part of the child's
start event, so the child takes that release's paths on every replay. A worker that does
not know the release named refuses the task (``UnknownRelease``; Temporal retries it)
rather than guess. Executions started by a client (alert groups, the guard) still record
their release's marker: a client may run newer code than the workers.

A change to workflow commands made after this release: add a new id at the front of
``RELEASES`` and pass ``since=`` that id where the change is checked; checks of older
changes keep working, because every newer release switches them on too.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import workflow

# Newest first. A new execution records RELEASES[0] only.
RELEASES = ("release-2026-12-n", "release-2026-12-m", "release-2026-12-l", "release-2026-12-k",
            "release-2026-12-j", "release-2026-12-i", "release-2026-12-h", "release-2026-12-g",
            "release-2026-12-f", "release-2026-12-e", "release-2026-12-d", "release-2026-12-c",
            "release-2026-12-b", "release-2026-12", "release-2026-11-b", "release-2026-11")


# Since release-2026-12-f a workflow names its release in the memo of every child it
# starts (``named``): the child reads it from its start event and records no marker (a
# marker and Temporal's change-version upsert were two of every phase's events).
MEMO_KEY = "release"
# The first release a child can be named; children named nothing use markers.
FIRST_NAMED = "release-2026-12-f"


class UnknownRelease(RuntimeError):
    """A newer worker started this execution: its workflow task fails (and is retried)
    until a worker that knows the release takes it, instead of running another code path."""


def named() -> Mapping[str, str]:
    """The memo for a child this workflow starts: it runs this code's release."""
    return {MEMO_KEY: RELEASES[0]}


def _named_release() -> str | None:
    try:
        release = workflow.memo_value(MEMO_KEY, type_hint=str)
    except KeyError:
        return None
    if release not in RELEASES[: RELEASES.index(FIRST_NAMED) + 1]:
        raise UnknownRelease(f"started by {release!r}, which this worker does not know")
    return release


def patched(change: str, since: str = RELEASES[-1]) -> bool:
    """Whether this execution takes the path that ``change`` added.

    ``change``: the change's own patch id, recorded by executions started before
    releases were grouped; ``since``: the release that includes it."""
    release = _named_release()
    if release is not None:
        return RELEASES.index(release) <= RELEASES.index(since)
    for release in RELEASES[: RELEASES.index(since) + 1]:
        if workflow.patched(release):
            return True
    return workflow.patched(change)
