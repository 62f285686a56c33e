"""What an incident knows about its alerts, read with its workflow's queries.

The incident id is its workflow id; the queries are asked by name (activities import
no workflow code), and the latest run answers them (an incident that continued as new
carries its alert state).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from remediator.models.alert import ALERT_LABELS, ALERTS_FIRING


class IncidentUnreadable(Exception):
    """The incident could not answer. ``final``: asking again cannot help (no such
    incident, or a worker without the query); else a transient failure."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.final = final


class IncidentAlerts:
    """Queries of incident workflows about their alerts."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def _query(self, incident_id: str, name: str) -> Any:
        handle = self._client.get_workflow_handle(incident_id)
        try:
            return await handle.query(name)
        except WorkflowQueryFailedError as exc:
            raise IncidentUnreadable(
                f"incident {incident_id} did not answer {name!r}: {exc}", final=True) from None
        except RPCError as exc:
            raise IncidentUnreadable(
                f"incident {incident_id} did not answer {name!r}: {exc}",
                final=exc.status == RPCStatusCode.NOT_FOUND) from None

    async def firing(self, incident_id: str) -> set[str]:
        """Fingerprints of the incident's alerts whose last status is firing."""
        return {str(fp) for fp in await self._query(incident_id, ALERTS_FIRING)}

    async def common_labels(self, incident_id: str) -> dict[str, str]:
        """The labels every alert of the incident shares."""
        labels = await self._query(incident_id, ALERT_LABELS)
        return {str(k): str(v) for k, v in labels.items()}

    async def severity(self, incident_id: str) -> str | None:
        """The incident's severity (P0–P3), None before triage set one."""
        view = await self._query(incident_id, "status")
        severity = view.get("severity") if isinstance(view, dict) else None
        return str(severity) if severity else None
