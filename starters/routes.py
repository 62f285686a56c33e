"""Which alert group workflow an alert batch goes to: its source's group, or the
correlation key of the first rule that takes it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from remediator.models.alert import AlertBatch
from remediator.runbooks.correlation import CorrelationRules
from workflows.detect import primary_alert, runbook_labels


@dataclass(frozen=True)
class Route:
    key: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def workflow_id(self) -> str:
        return "alert-group-" + hashlib.sha256(self.key.encode()).hexdigest()[:24]


def route_of(batch: AlertBatch, rules: CorrelationRules | None = None) -> Route:
    primary = primary_alert(batch.alerts)
    for rule in rules.rules if rules else []:
        key = rule.key_for(primary.source, runbook_labels(primary))
        if key is not None:
            return Route(f"correlate {key}", {"window_seconds": rule.window_seconds})
    return Route(f"{primary.source} {batch.group_key}")
