"""The evidence an approver sees beside a plan: what the incident knows so far.

Read from the incident's own ``status`` query (untyped here: activities do not import
workflows), so the approval card shows what the timeline shows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

Evidence = Callable[[str], Awaitable[list[str]]]
# Timeline kinds that are evidence for or against a plan (prefixes).
EVIDENCE_KINDS = ("alert.firing", "severity.", "baseline.", "investigation.", "verify.",
                  "mitigation.")
MAX_LINES = 8


def evidence_lines(view: dict[str, Any]) -> list[str]:
    """Severity, service and alert count, then the latest evidence entries of the timeline."""
    head = (f"{view.get('severity') or '?'} · {view.get('service') or '?'} · "
            f"{view.get('alerts', 0)} alert(s): {view.get('title') or ''}")
    entries = [e for e in view.get("timeline") or []
               if str(e.get("kind", "")).startswith(EVIDENCE_KINDS)]
    lines = [f"{str(e.get('at', ''))[11:16]} {e.get('kind')}: {str(e.get('detail', ''))[:200]}"
             for e in entries[-MAX_LINES:]]
    return [head, *lines]


def from_incident(client: Client) -> Evidence:
    """Evidence read with the incident's ``status`` query; none when it cannot answer."""

    async def read(incident_id: str) -> list[str]:
        try:
            view = await client.get_workflow_handle(incident_id).query(
                "status", rpc_timeout=timedelta(seconds=5))
        except RPCError:
            return []
        return evidence_lines(view) if isinstance(view, dict) else []

    return read
