"""Detect: ingest the alerts, deduplicate them, find the runbook, open the incident."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.support.versions import patched

with workflow.unsafe.imports_passed_through():
    from activities.runbooks import RunbookActivities, RunbookQuery
    from remediator.models.alert import Alert, AlertStatus
    from remediator.models.contract import Contract
    from remediator.models.incident import Phase
    from remediator.models.policy import IncidentPolicy
    from remediator.models.runbook import Runbook
    from workflows.saga import failure_message
    from workflows.support.options import LOOKUP, local
    from workflows.support.timeline import PhaseResult, Recorder


# The runbook and the policy are read from the worker's own files and settings: local
# activities (a marker each, no task round trip) since this patch; before, activities.
LOCAL_LOOKUPS = "detect-local-lookups"
# Since release-2026-12-n both in one local activity (one marker instead of two).
ONE_LOOKUP = "runbook-and-policy-in-one-lookup"
POLICY_SUMMARY = "incident policy: approvals, comms, timings"

class DetectInput(Contract):
    incident_id: str
    alerts: list[Alert]
    # Declared incidents: the runbook is named by the human (None: no runbook at all).
    declared: bool = False
    runbook_name: str | None = None
    # The release that started this phase (as in its memo: ``versions.named``). Only for
    # workers of an earlier release, which refuse an unknown field: they never run a
    # phase on paths they do not know.
    release: str | None = None


class DetectResult(PhaseResult):
    title: str
    service: str
    primary: Alert
    alerts: list[Alert]
    runbook: Runbook | None
    policy: IncidentPolicy


STALE_AFTER_DAYS = 180


def dedupe(alerts: list[Alert]) -> list[Alert]:
    """Latest state per alert fingerprint, in order of first appearance."""
    latest: dict[str, Alert] = {}
    for alert in alerts:
        latest[alert.fingerprint] = alert
    return list(latest.values())


def describe(alert: Alert) -> tuple[str, str]:
    title = alert.annotations.get("summary") or alert.name
    service = alert.labels.get("service") or alert.labels.get("job") or "unknown"
    return title, service


def environment_of(opened: DetectResult) -> str:
    """Where the incident happens, for approval policy: the alert's environment label."""
    labels = opened.primary.labels
    return labels.get("environment") or labels.get("env") or "production"


def primary_alert(alerts: list[Alert]) -> Alert:
    """The alert the incident is named after and its runbook matched by: the first firing."""
    firing = [a for a in alerts if a.status == AlertStatus.FIRING] or alerts
    return firing[0]


def runbook_labels(alert: Alert) -> dict[str, str]:
    """What a runbook's ``match`` and ``${labels.X}`` see: the labels, and the alert name."""
    return {"alertname": alert.name, **alert.labels}


def runbook_link(opened: DetectResult) -> str | None:
    """The human runbook: the alert's ``runbook_url`` annotation (Prometheus's
    convention), else the matched runbook's ``url``."""
    linked = opened.primary.annotations.get("runbook_url")
    return linked or (opened.runbook.url if opened.runbook else None)


@workflow.defn
class DetectWorkflow:
    """Alerts normalised, deduplicated and recorded; the matching runbook attached."""

    def __init__(self) -> None:
        self._rec = Recorder(Phase.DETECT)

    @workflow.run
    async def run(self, inp: DetectInput) -> DetectResult:
        return await self._rec.around(lambda: self._phase(inp))

    async def _phase(self, inp: DetectInput) -> DetectResult:
        rec = self._rec
        alerts = dedupe(inp.alerts)
        primary = primary_alert(alerts)
        title, service = describe(primary)
        await rec.add("incident.opened", f"{title} ({len(alerts)} distinct alert(s))")
        runbook, policy = None, None
        looks_up = not (inp.declared and inp.runbook_name is None)  # else humans mitigate
        if looks_up and patched(ONE_LOOKUP, since="release-2026-12-n"):
            runbook, policy = await self._find_runbook_with_policy(primary, inp.runbook_name)
        elif looks_up:
            runbook = await self._find_runbook(primary, inp.runbook_name)
        await rec.add(
            "runbook.matched" if runbook else "runbook.none",
            runbook.provenance() if runbook else "no runbook matches: handing to humans",
        )
        if runbook is not None:
            await self._note_staleness(runbook)
        if policy is None:  # not read with the runbook
            policy = await self._read_policy()
        return DetectResult(
            title=title, service=service, primary=primary, alerts=alerts,
            runbook=runbook, policy=policy,
        )

    @staticmethod
    async def _read_policy() -> IncidentPolicy:
        if patched(LOCAL_LOOKUPS):
            return await workflow.execute_local_activity_method(
                RunbookActivities.incident_policy, **local(LOOKUP), summary=POLICY_SUMMARY)
        return await workflow.execute_activity_method(
            RunbookActivities.incident_policy, **LOOKUP, summary=POLICY_SUMMARY)

    async def _note_staleness(self, runbook: Runbook) -> None:
        """Seed 04: "test runbooks regularly; outdated runbooks cause confusion"."""
        if runbook.last_verified is None:
            return
        age = (workflow.now().date() - runbook.last_verified).days
        if age > STALE_AFTER_DAYS:
            await self._rec.add("runbook.stale", f"{runbook.name} last verified {age} days ago "
                                f"(over {STALE_AFTER_DAYS}): re-test it")

    async def _find_runbook_with_policy(
        self, alert: Alert, name: str | None,
    ) -> tuple[Runbook | None, IncidentPolicy]:
        query, summary = self._query(alert, name)
        found = await workflow.execute_local_activity_method(
            RunbookActivities.find_runbook_with_policy, query, **local(LOOKUP),
            summary=f"{summary}, and the {POLICY_SUMMARY}")
        if found.error is not None:
            await self._rec.add("runbook.error", found.error)
        return found.runbook, found.policy

    @staticmethod
    def _query(alert: Alert, name: str | None) -> tuple[RunbookQuery, str]:
        summary = f"runbook named {name}" if name else f"runbook matching {alert.name}"
        return RunbookQuery(labels=runbook_labels(alert), name=name), summary

    async def _find_runbook(self, alert: Alert, name: str | None) -> Runbook | None:
        query, summary = self._query(alert, name)
        try:
            if patched(LOCAL_LOOKUPS):
                return await workflow.execute_local_activity_method(
                    RunbookActivities.find_runbook, query, **local(LOOKUP), summary=summary)
            return await workflow.execute_activity_method(
                RunbookActivities.find_runbook, query, **LOOKUP, summary=summary)
        except ActivityError as err:
            await self._rec.add("runbook.error", failure_message(err))
            return None
