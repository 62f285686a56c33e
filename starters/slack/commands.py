"""``/incident declare|status|ack|severity|pending``: the slash command, answered to its
user only.

``declare`` opens an incident exactly as ``remediator declare`` does (the same checks,
the same start), as the remediator user the Slack user maps to; seed 02's
``/incident-declare sev-1`` reads ``/incident declare sev-1 SERVICE TITLE…``.
``severity`` re-classifies an incident as ``remediator severity`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from remediator.models.comms import Acknowledgement
from remediator.severity import Severity
from starters.declarations import BadDeclaration, declaration_from, severity_of
from starters.incidents import IncidentNotFound, Incidents
from workflows.incident_models import SeverityChange

USAGE = ("Usage: /incident declare <P0-P3|sev-1..sev-4> <service> <title…>"
         " · /incident status <INC-…> · /incident ack <INC-…>"
         " · /incident severity <INC-…> <P0-P3|sev-1..sev-4> <reason…> · /incident pending")


class BadCommand(ValueError):
    """The form is not a slash command (malformed): refused with a 400."""


@dataclass(frozen=True)
class Command:
    slack_user: str
    verb: str
    args: list[str]
    response_url: str


def parse_command(body: bytes) -> Command:
    try:
        form = parse_qs(body.decode(), strict_parsing=True, keep_blank_values=True)
        user = form["user_id"][0]
        text = form.get("text", [""])[0]
        response_url = form.get("response_url", [""])[0]
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise BadCommand(f"malformed slash command ({type(exc).__name__})") from None
    if not user or len(user) > 64 or len(text) > 4000:
        raise BadCommand("malformed slash command (user or text)")
    words = text.split()
    return Command(user, words[0].lower() if words else "help", words[1:], response_url)


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text}


class SlashCommands:
    def __init__(self, incidents: Incidents, runbook_dir: Any) -> None:
        self._incidents = incidents
        self._runbook_dir = runbook_dir

    async def answer(self, command: Command, user: str) -> dict[str, Any]:
        """The ephemeral answer to ``command`` run as ``user``."""
        verb, args = command.verb, command.args
        try:
            if verb == "declare":
                return await self._declare(args, user)
            if verb in ("status", "ack") and len(args) == 1:
                return await (self._status if verb == "status" else self._ack)(args[0], user)
            if verb == "severity" and len(args) >= 3:
                return await self._severity(args[0], severity_of(args[1]), " ".join(args[2:]),
                                            user)
            if verb == "pending":
                return await self._pending()
        except IncidentNotFound as exc:
            return ephemeral(f"No incident {exc}.")
        except BadDeclaration as exc:
            return ephemeral(f"Bad declaration: {exc}\n{USAGE}")
        return ephemeral(USAGE)

    async def _declare(self, args: list[str], user: str) -> dict[str, Any]:
        if len(args) < 3:
            raise BadDeclaration("say the severity, the service and a title")
        fields = {"severity": severity_of(args[0]), "service": args[1], "title": " ".join(args[2:])}
        declaration = declaration_from(fields, user, self._runbook_dir)
        opened = await self._incidents.declare(declaration)
        return ephemeral(f"{opened.id}: declared by {user} ({declaration.severity}, "
                         f"{declaration.service})")

    async def _status(self, incident_id: str, _: str) -> dict[str, Any]:
        view = await self._incidents.view(incident_id)
        last = view.timeline[-1] if view.timeline else None
        return ephemeral(f"{view.id}: {view.title}\nstatus {view.status}, phase {view.phase}, "
                         f"severity {view.severity}, acknowledged by "
                         f"{view.acknowledged_by or 'nobody yet'}"
                         + (f"\nlast: {last.at:%H:%M}Z {last.kind} {last.detail}" if last else ""))

    async def _ack(self, incident_id: str, user: str) -> dict[str, Any]:
        await self._incidents.view(incident_id)  # IncidentNotFound first
        await self._incidents.acknowledge(incident_id, Acknowledgement(user=user))
        return ephemeral(f"{incident_id}: acknowledged by {user}")

    async def _severity(self, incident_id: str, severity: Severity, reason: str,
                        user: str) -> dict[str, Any]:
        await self._incidents.view(incident_id)  # IncidentNotFound first
        change = SeverityChange(by=user, severity=severity, reason=reason[:2000])
        await self._incidents.set_severity(incident_id, change)
        return ephemeral(f"{incident_id}: severity {severity} by {user} sent")

    async def _pending(self) -> dict[str, Any]:
        found = await self._incidents.pending_everywhere()
        lines = [f"{i} {p.step_id} ({p.risk}) {len(p.approvals)}/{p.required} "
                 f"hash {p.plan_hash}: {p.plan[:200]}" for i, p in found]
        return ephemeral("\n".join(lines) or "Nothing waits for approval.")
