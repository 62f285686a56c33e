"""The Prometheus metrics of remediator's processes, on a registry of their own.

One ``Metrics`` object per process (the worker builds it once and injects it; the
webhook server keeps it on its app), never module-level state. Labels are bounded:
``source`` is the webhook route, ``action`` a catalogue action, ``runbook`` and
``service`` the names the runbook directory knows plus a few more (then ``other``),
``severity`` P0–P3. No incident id, user or free text is ever a label.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from remediator.severity import Severity
from remediator.telemetry.labels import UNKNOWN, BoundedLabel

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: 10 s … 1 day, for the times an incident takes (automation answers in
# seconds, humans in minutes to hours).
INCIDENT_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400)

def severity_label(value: str | None) -> str:
    return value if value in set(Severity) else UNKNOWN


def known_names(runbook_dir: Path) -> tuple[set[str], set[str]]:
    """Runbook names and the exact services their ``match`` names (globs left out), read
    leniently: a broken file only names nothing."""
    runbooks: set[str] = set()
    services: set[str] = set()
    for path in [*runbook_dir.glob("*.yaml"), *runbook_dir.glob("*.yml")]:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("name"), str):
            runbooks.add(data["name"])
        service = (data.get("match") or {}).get("service") if isinstance(
            data.get("match"), dict) else None
        if isinstance(service, str) and not any(c in service for c in "*?["):
            services.add(service)
    return runbooks, services


class Metrics:
    """Every metric remediator exports; a process exports those it feeds."""

    def __init__(self, runbooks: Iterable[str] = (), services: Iterable[str] = ()) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.runbook = BoundedLabel(runbooks)
        self.service = BoundedLabel(services)
        self.alerts_received = Counter(
            "remediator_alerts_received", "Alert deliveries received, by webhook.",
            ["source"], registry=r)
        self.alerts_deduplicated = Counter(
            "remediator_alerts_deduplicated",
            "Alert deliveries that opened no incident: they joined an open one (exact "
            "duplicates answered at the edge included).", ["source"], registry=r)
        self.alerts_refused = Counter(
            "remediator_alerts_refused", "Alert deliveries refused, by webhook and reason.",
            ["source", "reason"], registry=r)
        self.incidents_opened = Counter(
            "remediator_incidents_opened",
            "Incidents opened through this webhook server (alerts, HTTP declarations), by "
            "the severity the alert asked for and service.", ["severity", "service"], registry=r)
        self.incidents_closed = Counter(
            "remediator_incidents_closed", "Incidents closed, by final severity, service and "
            "how they ended (automated, handed_over, dry_run).",
            ["severity", "service", "outcome"], registry=r)
        self.mitigations = Counter(
            "remediator_mitigations", "Mitigation activity outcomes, by catalogue action.",
            ["action", "outcome"], registry=r)
        self.verifications = Counter(
            "remediator_verifications", "Verification windows judged, by runbook and result.",
            ["runbook", "result"], registry=r)
        self.time_to_first_mitigation = Histogram(
            "remediator_time_to_first_mitigation_seconds",
            "From an incident's opening to its first applied mitigation.", ["severity"],
            buckets=INCIDENT_BUCKETS, registry=r)
        self.time_to_acknowledge = Histogram(
            "remediator_time_to_acknowledge_seconds",
            "From an incident's opening to a human's acknowledgement.", ["severity"],
            buckets=INCIDENT_BUCKETS, registry=r)
        self.time_to_resolve = Histogram(
            "remediator_time_to_resolve_seconds",
            "From an incident's opening to its resolution.", ["severity", "outcome"],
            buckets=INCIDENT_BUCKETS, registry=r)

    @classmethod
    def for_runbooks(cls, runbook_dir: Path) -> Metrics:
        """Labels bounded by what the runbook directory names."""
        runbooks, services = known_names(runbook_dir)
        return cls(runbooks, services)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)

    def names(self) -> set[str]:
        """Every sample name this registry exports (``_total``, ``_bucket`` … included)."""
        return {sample.name for family in self.registry.collect() for sample in family.samples
                } | {family.name for family in self.registry.collect()}
