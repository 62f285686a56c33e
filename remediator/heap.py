"""The long-running processes' heap, settled once they have started.

A worker holds ~110,000 objects once its libraries are imported (temporalio, pydantic,
the Redis client, our models), and every full garbage collection walks them all: ~57 ms
on this machine, during which the worker's event loop picks up no workflow task.
Allocation-heavy work (every workflow task decodes and validates pydantic models)
triggers full collections again and again under load. Objects alive after start-up live
as long as the process, so they move to the permanent generation, which collections
skip (the 57 ms become ~0).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect start-up garbage, then exempt every surviving object from collections."""
    gc.collect()
    gc.freeze()
