"""What the incident workflow owns: its input (alerts, or a human declaration), the
state it carries to its next run, its status view, and a human's resolution."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field, field_validator

from remediator.models.alert import Alert, AlertStatus
from remediator.models.comms import Role
from remediator.models.contract import Contract
from remediator.models.evidence import EvidenceSummary
from remediator.models.incident import IncidentStatus, Phase, TimelineEntry
from remediator.models.mitigation import StepOutcome
from remediator.models.verification import Verdict
from remediator.severity import Severity
from workflows.alert_group_models import Recurrence
from workflows.comms.clocks import ClockProgress
from workflows.detect import DetectResult

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class Declaration(Contract):
    """A human opened the incident, with no alert (seed 05's user and team reports,
    seed 02's ``/incident-declare``)."""

    title: str = Field(min_length=1, max_length=256)
    service: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
    severity: Severity
    runbook: str | None = Field(default=None, min_length=1, max_length=128)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    by: str = Field(min_length=1, max_length=128)

    @field_validator("labels")
    @classmethod
    def _bounded(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            if not LABEL_NAME.match(key) or len(value) > 1024:
                raise ValueError(f"label {key[:40]!r}: names are [A-Za-z_][A-Za-z0-9_]* "
                                 "(at most 128), values at most 1024 characters")
        return labels


class Resolution(Contract):
    """A human declares a handed-over incident resolved (payload of the ``resolve`` signal)."""

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)


class SeverityChange(Contract):
    """A human re-classifies the incident (payload of the ``set_severity`` signal). Seed
    04: "When in doubt, over-classify. It is better to downgrade than to under-respond."
    """

    by: str = Field(min_length=1, max_length=200)
    severity: Severity
    reason: str = Field(min_length=1, max_length=2000)


class IncidentInput(Contract):
    incident_id: str
    dry_run: bool = False
    # The alerts that opened it (incidents opened by an alert group); older incidents
    # got their first batch with the start signal instead.
    alerts: list[Alert] = Field(default_factory=list)
    group_key: str = ""
    # The AlertGroupWorkflow that opened it, told when the incident closes.
    group: str | None = None
    recurrence: Recurrence | None = None
    declared: Declaration | None = None
    # Set when an earlier run of this incident continued as new: it goes on from there.
    carried: IncidentCarry | None = None
    # The release that started it (as in its memo: ``versions.named``; alert groups and
    # continue-as-new name it). Only for workers of an earlier release, which refuse an
    # unknown field: they never run an incident on paths they do not know.
    release: str | None = None


class IncidentView(Contract):
    """What ``GET /v1/incidents/{id}`` and ``remediator status`` show."""

    id: str
    status: IncidentStatus
    phase: Phase
    severity: Severity | None
    title: str
    service: str
    runbook: str | None
    alerts: int
    timeline: list[TimelineEntry]
    steps: list[StepOutcome]
    verdict: Verdict | None
    postmortem: str | None
    roles: dict[str, str] = Field(default_factory=dict)
    acknowledged_by: str | None = None
    dry_run: bool = False
    # Repeats that changed nothing (same alert, same status), counted, not recorded.
    duplicates: int = 0
    previous: str | None = None
    declared_by: str | None = None
    # Why the incident's workflow ended without closing it (failed, terminated, timed out).
    failure: str | None = None
    # Read from the history (no worker answered, or the run has ended without a result).
    from_history: bool = False


class IncidentCarry(Contract):
    """A handed-over incident's state, from one run to the next (continue-as-new): all
    that ``status``, the comms clocks and the postmortem need, so that the runs read as
    one incident. ``alerts`` keeps at most the first ``MAX_CARRIED_ALERTS``."""

    opened: DetectResult
    opened_at: datetime
    phase: Phase
    status: IncidentStatus
    severity: Severity
    timeline: list[TimelineEntry]
    alert_statuses: dict[str, AlertStatus]
    alerts: list[Alert]
    steps: list[StepOutcome] = Field(default_factory=list)
    verdict: Verdict | None = None
    roles: dict[Role, str] = Field(default_factory=dict)
    acknowledged_by: str | None = None
    duplicates: int = 0
    dry_run: bool = False
    resolution: Resolution | None = None
    # Messages announced so far: message ids (idempotency keys) continue from here.
    messages_sent: int = 0
    clocks: ClockProgress = Field(default_factory=ClockProgress)
    # How many runs came before this one.
    runs: int = 1
    # The evidence bundle's summary (README "Evidence"), for approvals and the postmortem.
    evidence: EvidenceSummary | None = None


MAX_CARRIED_ALERTS = 500
IncidentInput.model_rebuild()
