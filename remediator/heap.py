"""The long-running processes' heap, settled once they have started.

A worker holds ~110,000 objects once its libraries are imported (temporalio, pydantic,
the Kubernetes and Redis clients, our models), and a full garbage collection walks them
all: ~50 ms on this machine, during which no workflow task is picked up. Allocation-heavy
work (every workflow task decodes and validates pydantic models) triggers such full
collections every few hundred milliseconds under load; an idle incident's history showed
workflow tasks waiting 40–50 ms to start, two of them on its path to the first mitigation
(BENCHMARKS.md). Objects alive after start-up live as long as the process, so they move
to the permanent generation, which collections skip.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect start-up garbage, then exempt every surviving object from collections."""
    gc.collect()
    gc.freeze()
