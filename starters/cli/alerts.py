"""``remediator alert FILE``: post a payload to the webhook server, as its sender would."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import httpx
import typer

from remediator.settings import Settings
from starters.alerts import pagerduty
from starters.alerts.common import guess_format

AlertFormat = Literal["alertmanager", "grafana", "pagerduty", "generic"]


def alert(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON payload.")],
    url: Annotated[str | None, typer.Option(help="Webhook base URL.")] = None,
    format_: Annotated[AlertFormat | None, typer.Option(
        "--format", help="Webhook to post to (default: guessed from the payload's shape).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="An incident this opens plans its steps and changes nothing.")] = False,
    verbatim: Annotated[bool, typer.Option(
        "--verbatim", help="Send a PagerDuty payload as it is (by default it is sent as a "
                           "new delivery: a fresh event id and occurred_at).")] = False,
) -> None:
    """Send an alert payload (Alertmanager v4, Grafana, PagerDuty V3 or generic JSON)."""
    settings = Settings()
    body = file.read_bytes()
    kind = format_ or guess_format(body)
    if kind == "pagerduty" and not verbatim:
        # The server refuses stale and replayed deliveries; a file is a template.
        body = pagerduty.as_new_delivery(body)
    headers = {"content-type": "application/json"}
    if settings.webhook_token is not None:
        headers["authorization"] = f"Bearer {settings.webhook_token.get_secret_value()}"
    if kind == "pagerduty" and (secrets := settings.pagerduty_secret_list()):
        headers["x-pagerduty-signature"] = pagerduty.signature(body, secrets[0])
    base = url or f"http://{settings.http_addr}"
    resp = httpx.post(f"{base}/v1/alerts/{kind}", content=body, headers=headers, timeout=30,
                      params={"dry_run": "true"} if dry_run else None)
    typer.echo(resp.text)
    if not resp.is_success:
        raise typer.Exit(1)
