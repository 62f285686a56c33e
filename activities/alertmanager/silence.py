"""``alertmanager.silence``: silence the incident's alert group in Alertmanager for the
verify window, once per (incident occurrence, step); undone by expiring the silence.

The silence carries its step's marker in its comment (``[remediator silence <key>]``),
so a retry after a crash finds the silence its first attempt created instead of
creating a second one. Only alertnames on REMEDIATOR_SILENCE_ALLOWLIST may be silenced,
and a silence must name its alertname with ``=`` (so the allow-list can judge it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import Field, field_validator
from temporalio import activity

from activities.alertmanager.api import AlertmanagerApi
from activities.alertmanager.incident import IncidentAlerts, IncidentUnreadable
from activities.support.allowlist import require_allowed
from activities.support.crash_points import CrashPoints
from activities.support.errors import NotAllowed, Rejected, refusals_non_retryable, validated
from activities.support.markers import step_tag
from activities.support.params import Params
from remediator.matchers import (
    Matcher,
    alertname_of,
    describe,
    digest,
    equal_to,
    parse_matcher,
)
from remediator.models.mitigation import MitigationRequest, MitigationResult, UndoRequest, UndoResult
from remediator.models.policy import Timings
from remediator.severity import Severity

log = structlog.get_logger()
ACTION = "alertmanager.silence"
ALLOWLIST = "REMEDIATOR_SILENCE_ALLOWLIST"
CREATED_BY = "remediator"
INCIDENT_ALERTS = "alertmanager:incident-alerts"
MAX_TARGET = 200


class SilenceParams(Params):
    """Silence the alerts matching ``matchers`` (Alertmanager's ``k=v``, ``k!=v``,
    ``k=~re``, ``k!~re``; default: the labels every alert of the incident shares) for
    ``duration_seconds`` (default: the verify window of the incident's severity), with
    ``comment`` before the incident and step in the silence's comment."""

    matchers: list[str] | None = Field(None, min_length=1, max_length=20)
    duration_seconds: float | None = Field(None, gt=0, le=30 * 86_400)
    comment: str = Field("", max_length=500)

    @field_validator("matchers")
    @classmethod
    def _parsable(cls, matchers: list[str] | None) -> list[str] | None:
        for text in matchers or []:
            parse_matcher(text)
        return matchers

    def parsed(self) -> list[Matcher] | None:
        return None if self.matchers is None else [parse_matcher(m) for m in self.matchers]

    def target(self) -> str:
        """``alertmanager:{alertname="X", service="y"}`` (a digest when long); the
        incident's own labels, chosen when the step runs, are ``alertmanager:incident-alerts``."""
        matchers = self.parsed()
        if matchers is None:
            return INCIDENT_ALERTS
        spelled = f"alertmanager:{describe(matchers)}"
        return spelled if len(spelled) <= MAX_TARGET else f"alertmanager:sha256:{digest(matchers)}"


class SilenceActivities:
    """``create_silence`` and its undo ``expire_silence``."""

    def __init__(self, api: AlertmanagerApi, incidents: IncidentAlerts, timings: Timings,
                 allowlist: list[str], crash: CrashPoints) -> None:
        self._api = api
        self._incidents = incidents
        self._timings = timings
        self._allowlist = allowlist
        self._crash = crash

    @activity.defn
    async def create_silence(self, req: MitigationRequest) -> MitigationResult:
        """Create one silence per (incident occurrence, step) and return its id.

        Dry-run names the silence it would create and creates nothing. Refused
        (non-retryable): no Alertmanager configured, no ``alertname=`` matcher, an
        alertname off the allow-list, matchers Alertmanager rejects.
        """
        params = validated(SilenceParams, req.params)
        tag = f"[{step_tag('silence', req.key, 200)}]"
        with refusals_non_retryable():
            matchers = params.parsed() or equal_to(await self._labels(req.incident_id))
            name = self._allowed(matchers)
            seconds, why = await self._duration(req.incident_id, params)
            comment = " ".join(filter(None, [params.comment, f"incident {req.incident_id} "
                                             f"step {req.step_id} {tag}"]))
            plan = (f"{describe(matchers)} for {_span(seconds)} ({why}), createdBy "
                    f"{CREATED_BY}, comment {comment!r}, at Alertmanager {self._api.url}")
            existing = await self._ours(tag)
            if req.dry_run:
                return MitigationResult(
                    step_id=req.step_id, action=ACTION, applied=False, dry_run=True,
                    detail=(f"would create a silence {plan}" if existing is None else
                            f"silence {existing['id']} of this step exists already: {plan}"))
            if existing is None:
                silence_id = await self._api.create_silence(_body(matchers, seconds, comment))
            else:
                silence_id = str(existing["id"])
        self._crash.reach("alertmanager.silence.after_create")
        log.info("mitigation.applied", action=ACTION, silence_id=silence_id,
                 matchers=describe(matchers), seconds=seconds, repeated=existing is not None)
        return MitigationResult(
            step_id=req.step_id, action=ACTION, applied=True,
            detail=f"silence {silence_id}: {plan}",
            undo={"silence_id": silence_id, "tag": tag, "alertname": name})

    @activity.defn
    async def expire_silence(self, req: UndoRequest) -> UndoResult:
        """Expire the step's silence; one already expired (or gone) is fine.

        Not judged by the allow-list: ending a silence only lets alerts notify again.
        """
        silence_id, tag = str(req.undo["silence_id"]), str(req.undo["tag"])
        with refusals_non_retryable():
            silence = await self._api.silence(silence_id)
            if silence is None:
                return UndoResult(step_id=req.step_id, undone=True,
                                  detail=f"silence {silence_id} is gone from Alertmanager already")
            if tag not in str(silence.get("comment", "")):
                raise Rejected(f"silence {silence_id} is not this step's ({tag} not in its "
                               "comment); left as is")
            if silence.get("status", {}).get("state") == "expired":
                return UndoResult(step_id=req.step_id, undone=True,
                                  detail=f"silence {silence_id} had expired already "
                                         f"(at {silence.get('endsAt')})")
            await self._api.expire_silence(silence_id)
        log.info("mitigation.undone", action=ACTION, silence_id=silence_id)
        return UndoResult(step_id=req.step_id, undone=True, detail=f"silence {silence_id} expired")

    def _allowed(self, matchers: list[Matcher]) -> str:
        name = alertname_of(matchers)
        if name is None:
            raise NotAllowed(f"a silence must name its alertname with '=' ({ALLOWLIST} judges "
                             f"it); matchers {describe(matchers)}")
        require_allowed("alertname", name, self._allowlist, ALLOWLIST)
        return name

    async def _labels(self, incident_id: str) -> dict[str, str]:
        try:
            labels = await self._incidents.common_labels(incident_id)
        except IncidentUnreadable as exc:
            if exc.final:
                raise Rejected(f"{exc}: give the step's matchers") from None
            raise
        if not labels:
            raise Rejected(f"the alerts of incident {incident_id} share no label: "
                           "give the step's matchers")
        return labels

    async def _duration(self, incident_id: str, params: SilenceParams) -> tuple[float, str]:
        if params.duration_seconds is not None:
            return params.duration_seconds, "as the step says"
        try:
            severity = await self._incidents.severity(incident_id)
        except IncidentUnreadable:
            severity = None
        if severity is None:
            longest = max(self._timings.verify_window(s) for s in Severity)
            return longest, "the longest verify window: the incident's severity is unknown"
        return self._timings.verify_window(Severity(severity)), f"the {severity} verify window"

    async def _ours(self, tag: str) -> dict[str, Any] | None:
        """The silence this step created before (its marker in the comment), in any state."""
        return next((s for s in await self._api.silences()
                     if s.get("createdBy") == CREATED_BY and tag in str(s.get("comment", ""))),
                    None)


def _body(matchers: list[Matcher], seconds: float, comment: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"matchers": [m.api() for m in matchers], "startsAt": _iso(now),
            "endsAt": _iso(now + timedelta(seconds=seconds)), "createdBy": CREATED_BY,
            "comment": comment}


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _span(seconds: float) -> str:
    whole = int(seconds)
    if whole % 3600 == 0 and whole >= 3600:
        return f"{whole // 3600} h"
    if whole % 60 == 0 and whole >= 60:
        return f"{whole // 60} min"
    return f"{seconds:g} s"
