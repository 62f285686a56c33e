"""Sending alerts and reading numbered incidents, for the occurrence tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starters.alerts.alertmanager import parse_alertmanager
from starters.incidents import Incidents, Opened

FLAGS = "remediator:flags:production"
NUMBERED = re.compile(r"^INC-(\d{4})-(\d{4,})$")


def number(incident_id: str) -> int:
    """The number of an ``INC-<year>-<n>`` id (fails the test for any other id)."""
    found = NUMBERED.match(incident_id)
    assert found, f"not a numbered incident id: {incident_id}"
    assert int(found[1]) == datetime.now(UTC).year
    return int(found[2])


async def send(incidents: Incidents, payload: dict[str, Any]) -> Opened:
    batch = parse_alertmanager(json.dumps(payload).encode(), datetime.now(UTC), 10)
    return await incidents.open_or_join(batch)
