"""Runbook lookup, as an activity so that workflow code never reads files."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from remediator.models.contract import Contract
from remediator.models.policy import IncidentPolicy
from remediator.models.runbook import Runbook
from remediator.runbooks.errors import InvalidRunbook
from remediator.runbooks.labels import MissingLabel, match_runbook, render_runbook
from remediator.runbooks.loading import RunbookDirectory
from remediator.runbooks.validation import ActionLookup


class RunbookQuery(Contract):
    labels: dict[str, str]
    # A declared incident names its runbook instead of matching one.
    name: str | None = None


class RunbookLookup(Contract):
    """The runbook for an incident (None: none matches, or ``error`` says why not) and
    the policy, read together: one local activity and one marker in the detect phase
    instead of two (since release-2026-12-n)."""

    runbook: Runbook | None = None
    error: str | None = None
    policy: IncidentPolicy


class RunbookActivities:
    def __init__(self, directory: Path, policy: IncidentPolicy, actions: ActionLookup) -> None:
        """``actions``: the mitigation catalogue's lookup (runbooks are checked against it)."""
        self._runbooks = RunbookDirectory(directory, actions)
        self._policy = policy

    @activity.defn
    async def find_runbook(self, query: RunbookQuery) -> Runbook | None:
        """The most specific runbook matching the labels, with ``${labels.X}`` filled in.

        Files are checked on every call, so an edited runbook applies to the next incident
        (a file is parsed again only once it changed).
        """
        try:
            runbooks = self._runbooks.load()
            runbook = (match_runbook(runbooks, query.labels) if query.name is None
                       else next((r for r in runbooks if r.name == query.name), None))
        except InvalidRunbook as exc:
            raise ApplicationError(f"invalid runbook: {exc}", non_retryable=True) from None
        if runbook is None:
            return None
        try:
            return render_runbook(runbook, query.labels)
        except MissingLabel as exc:
            raise ApplicationError(f"runbook {runbook.name}: {exc}", non_retryable=True) from None

    def keep_flags_in_ssm(self) -> bool:
        """Whether a runbook sets a flag in SSM Parameter Store (so its history is
        evidence); True while a runbook file is invalid, as it may."""
        try:
            runbooks = self._runbooks.load()
        except InvalidRunbook:
            return True
        return any(step.action == "feature_flag.set" and step.params.get("store") == "ssm"
                   for runbook in runbooks
                   for step in [*runbook.steps, *runbook.fallback_steps])

    @activity.defn
    async def find_runbook_with_policy(self, query: RunbookQuery) -> RunbookLookup:
        """``find_runbook`` and ``incident_policy`` at once; a runbook that cannot be used
        (invalid, a label missing) is an ``error`` beside the policy, not a failure."""
        try:
            runbook = await self.find_runbook(query)
        except ApplicationError as exc:
            return RunbookLookup(error=f"error: {exc.message}", policy=self._policy)
        return RunbookLookup(runbook=runbook, policy=self._policy)

    @activity.defn
    async def incident_policy(self) -> IncidentPolicy:
        """Timings and switches this worker was configured with."""
        return self._policy
