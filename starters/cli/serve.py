"""``remediator serve``: run the alert webhook server, refusing a configuration that
would expose it unguarded."""

from __future__ import annotations

from remediator import heap
from remediator.logging import configure_logging
from remediator.settings import Settings
from starters.cli.common import fail


def serve() -> None:
    """Run the alert webhook server on REMEDIATOR_HTTP_ADDR (default 127.0.0.1:8080)."""
    import uvicorn

    from starters.http.app import create_app

    settings = Settings()
    if not settings.http_is_loopback and settings.webhook_token is None:
        fail("refusing to listen beyond loopback without REMEDIATOR_WEBHOOK_TOKEN", 2)
    if settings.reads_guarded and not settings.has_api_tokens:
        # Reads would be refused to everyone: say so now rather than serve 401s.
        where = ("beyond loopback" if not settings.http_is_loopback
                 else "with REMEDIATOR_READS_NEED_TOKEN")
        fail(f"refusing to listen {where} without REMEDIATOR_API_TOKENS: reading "
             "incidents needs an API token", 2)
    configure_logging()
    app = create_app(settings)
    heap.settle()  # full collections skip what start-up left (remediator/heap.py)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="warning")
