"""Whether an incident's alerts still fire, right before a step changes anything.

Two sources: the incident's own alert state (its ``alerts_firing`` query), and, with
ALERTMANAGER_URL set, Alertmanager's view of the same alerts. An alert the incident
saw resolve is resolved; one that came from Alertmanager and is no longer active there
is resolved too; one Alertmanager silences or inhibits is never acted on. Alertmanager
not answering never blocks a step on its own: the incident's state decides, and the
answer says Alertmanager was not consulted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import Field
from temporalio import activity

from activities.alertmanager.api import AlertmanagerApi, AlertmanagerUnreachable
from activities.alertmanager.incident import IncidentAlerts, IncidentUnreadable
from activities.support.errors import MitigationRefused
from remediator.matchers import Matcher
from remediator.models.alert import Alert, AlertStatus
from remediator.models.contract import Contract

log = structlog.get_logger()
AM_SOURCE = "alertmanager"
MAX_DETAIL = 2000


class StillFiringRequest(Contract):
    """The incident and its alerts (every batch as it came: the last status per
    fingerprint counts)."""

    incident_id: str
    alerts: list[Alert] = Field(default_factory=list)


class StillFiring(Contract):
    """``firing``: at least one alert still fires (silenced or not). ``silenced``: every
    alert still firing is silenced or inhibited in Alertmanager, so nothing may act on
    it. ``act`` is the caller's go-ahead. ``checked``: the sources that answered
    ("incident", "alertmanager")."""

    firing: bool
    silenced: bool = False
    detail: str
    checked: list[str] = Field(default_factory=list)
    # ALERTMANAGER_URL is set but Alertmanager did not answer: the incident's state decided.
    alertmanager_unreachable: bool = False

    @property
    def act(self) -> bool:
        return self.firing and not self.silenced


@dataclass
class Seen:
    """Our alerts as Alertmanager sees them."""

    active: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


class AlertStateActivities:
    """``alerts_still_firing``: the incident's alerts, per the incident and Alertmanager."""

    def __init__(self, incidents: IncidentAlerts, alertmanager: AlertmanagerApi) -> None:
        self._incidents = incidents
        self._am = alertmanager

    @activity.defn
    async def alerts_still_firing(self, req: StillFiringRequest) -> StillFiring:
        """Still firing, silenced or resolved; never fails because a source is down."""
        latest = list({a.fingerprint: a for a in req.alerts}.values())
        checked: list[str] = []
        unseen: set[str] = set()  # firing per the incident, but not among the alerts given
        try:
            firing_now = await self._incidents.firing(req.incident_id)
            checked.append("incident")
            still = [a for a in latest if a.fingerprint in firing_now]
            unseen = firing_now - {a.fingerprint for a in latest}
            source = "incident"
        except IncidentUnreadable as exc:
            still = [a for a in latest if a.status == AlertStatus.FIRING]
            source = f"alerts as given ({exc})"
        if not still and not unseen:
            return _answer(StillFiring(firing=False, checked=checked, detail=(
                f"{source}: every alert resolved ({_names(latest)})")), req)
        mine = f"{source}: {len(still) + len(unseen)} alert(s) firing ({_names(still)})"
        if not self._am.url:
            return _answer(StillFiring(firing=True, checked=checked, detail=mine), req)
        try:
            seen, lines = await self._seen(still)
        except (AlertmanagerUnreachable, MitigationRefused) as exc:
            return _answer(StillFiring(
                firing=True, checked=checked, alertmanager_unreachable=True,
                detail=f"{mine}; {exc}: Alertmanager not consulted"), req)
        checked.append("alertmanager")
        if unseen:  # no labels to look them up by: the incident's word stands
            seen.unknown.extend(sorted(unseen))
            lines.append(f"incident: {len(unseen)} more alert(s) firing that the check was "
                         "not given")
        firing = bool(seen.active or seen.suppressed or seen.unknown)
        silenced = firing and not seen.active and not seen.unknown
        return _answer(StillFiring(firing=firing, silenced=silenced, checked=checked,
                                   detail="; ".join(lines)), req)

    async def _seen(self, still: list[Alert]) -> tuple[Seen, list[str]]:
        by_name: dict[str, list[Alert]] = {}
        for alert in still:
            by_name.setdefault(alert.labels.get("alertname", alert.name), []).append(alert)
        seen, lines = Seen(), []
        silences: dict[str, str] = {}
        for name, alerts in by_name.items():
            held = await self._am.alerts([Matcher("alertname", "=", name).filter()])
            for alert in alerts:
                line = await self._judge(alert, _matching(alert, held), seen, silences)
                lines.append(f"Alertmanager: {_label(alert)} {line}")
        return seen, lines

    async def _judge(self, alert: Alert, found: list[dict[str, Any]], seen: Seen,
                     silences: dict[str, str]) -> str:
        label = _label(alert)
        if not found:
            if alert.source == AM_SOURCE:
                seen.resolved.append(label)
                return "is no longer active there (resolved)"
            seen.unknown.append(label)
            return f"is not held there (it came from {alert.source}); the incident's state stands"
        if any(a.get("status", {}).get("state") != "suppressed" for a in found):
            seen.active.append(label)
            return "active"
        seen.suppressed.append(label)
        silenced_by = sorted({s for a in found for s in a["status"].get("silencedBy") or []})
        if silenced_by:
            return "silenced by " + ", ".join([await self._silence(s, silences)
                                               for s in silenced_by])
        inhibited_by = sorted({s for a in found for s in a["status"].get("inhibitedBy") or []})
        return f"inhibited by alert(s) {', '.join(inhibited_by)} (treated as silenced)"

    async def _silence(self, silence_id: str, known: dict[str, str]) -> str:
        if silence_id not in known:
            s = await self._am.silence(silence_id)
            known[silence_id] = silence_id if s is None else (
                f"{silence_id} (created by {s.get('createdBy')}, comment "
                f"{str(s.get('comment', ''))[:200]!r}, until {s.get('endsAt')})")
        return known[silence_id]


def _matching(alert: Alert, held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alertmanager's alerts that are ours: by fingerprint or the whole label set when it
    came from Alertmanager, else every one carrying all of its labels."""
    ours = {"alertname": alert.name, **alert.labels}
    if alert.source == AM_SOURCE:
        return [a for a in held if a.get("fingerprint") == alert.fingerprint
                or a.get("labels") == alert.labels]
    return [a for a in held if all(a.get("labels", {}).get(k) == v for k, v in ours.items())]


def _label(alert: Alert) -> str:
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(alert.labels.items()) if k != "alertname")
    return f"{alert.labels.get('alertname', alert.name)}{{{rest}}}"


def _names(alerts: list[Alert]) -> str:
    return ", ".join(_label(a) for a in alerts[:5]) + (" …" if len(alerts) > 5 else "")


def _answer(answer: StillFiring, req: StillFiringRequest) -> StillFiring:
    if len(answer.detail) > MAX_DETAIL:
        answer = answer.model_copy(update={"detail": answer.detail[:MAX_DETAIL - 1] + "…"})
    log.info("alerts.still_firing", incident_id=req.incident_id, firing=answer.firing,
             silenced=answer.silenced, checked=answer.checked,
             alertmanager_unreachable=answer.alertmanager_unreachable)
    return answer
