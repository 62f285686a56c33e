"""``remediator worker``: run a worker process."""

from __future__ import annotations

import asyncio

from remediator.logging import configure_logging
from remediator.settings import Settings


def worker() -> None:
    """Run a worker against TEMPORAL_ADDRESS and REDIS_URL."""
    from workers.main import run_worker

    configure_logging()
    asyncio.run(run_worker(Settings()))
