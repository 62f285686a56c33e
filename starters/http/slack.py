"""``/v1/slack/interactions`` and ``/v1/slack/commands``: Slack's requests, each proven by
its signature (fresh, once) before anything in it is read; the Slack user acts as the
remediator user ``REMEDIATOR_SLACK_USERS`` maps them to, or not at all."""

from __future__ import annotations

import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response

from activities.slack.store import CardStore
from remediator.settings import Settings
from starters.http.body import BodyTooLarge, read_body
from starters.slack.commands import BadCommand, SlashCommands, ephemeral, parse_command
from starters.slack.interactions import BadInteraction, ClickDecider, parse_click
from starters.slack.verify import SlackRefused, SlackRequests

log = structlog.get_logger()
MAX_BODY = 64_000


def slack_router(settings: Settings, redis_client: aioredis.Redis) -> APIRouter:
    router = APIRouter()
    secret = settings.slack_signing_secret
    checks = SlackRequests(secret.get_secret_value(), redis_client) if secret else None
    users = settings.slack_user_map()
    cards = CardStore(redis_client)

    async def verified(request: Request) -> bytes:
        """The body of a request proven to be Slack's; SlackRefused otherwise."""
        if checks is None:
            raise SlackRefused(404, "Slack is not configured (REMEDIATOR_SLACK_SIGNING_SECRET)")
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            raise SlackRefused(413, f"body larger than {MAX_BODY} bytes") from None
        await checks.check(request.headers, body)
        return body

    def refused(exc: SlackRefused, path: str) -> JSONResponse:
        log.info("slack.refused", path=path, status=exc.status, why=str(exc))
        return JSONResponse({"error": str(exc)}, exc.status)

    @router.post("/v1/slack/interactions", include_in_schema=False)
    async def interactions(request: Request, background: BackgroundTasks) -> Response:
        """Approve / Reject clicks: acknowledged at once, decided in the background."""
        try:
            click = parse_click(await verified(request))
        except SlackRefused as exc:
            return refused(exc, "interactions")
        except BadInteraction as exc:
            return JSONResponse({"error": str(exc)}, 400)
        approver = users.get(click.slack_user)
        signing_key = settings.secret_for(approver) if approver else None
        if approver is None or signing_key is None:
            why = (f"Slack user {click.slack_user} is not mapped to an approver "
                   "(REMEDIATOR_SLACK_USERS)" if approver is None
                   else f"{approver} has no API token to sign decisions with")
            log.info("slack.refused", path="interactions", status=403, why=why)
            return JSONResponse({"response_type": "ephemeral", "replace_original": False,
                                 "text": f"Refused: {why}", "error": why}, 403)
        decider = ClickDecider(request.app.state.incidents, cards)
        background.add_task(decider.decide, click, approver, signing_key)
        return Response(status_code=200)

    @router.post("/v1/slack/commands", include_in_schema=False)
    async def commands(request: Request) -> JSONResponse:
        """``/incident …``: answered with an ephemeral message."""
        try:
            command = parse_command(await verified(request))
        except SlackRefused as exc:
            return refused(exc, "commands")
        except BadCommand as exc:
            return JSONResponse({"error": str(exc)}, 400)
        user = users.get(command.slack_user)
        if user is None:
            why = f"Slack user {command.slack_user} is not mapped (REMEDIATOR_SLACK_USERS)"
            return JSONResponse({**ephemeral(f"Refused: {why}"), "error": why}, 403)
        answer = await SlashCommands(request.app.state.incidents,
                                     settings.runbook_dir).answer(command, user)
        log.info("slack.command", verb=command.verb, user=user)
        return JSONResponse(answer)

    return router
