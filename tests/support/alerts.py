"""Alert payloads as Alertmanager and generic senders produce them."""

from __future__ import annotations

import uuid
from typing import Any


def alertmanager_payload(alertname: str = "CheckoutErrorRateHigh", service: str = "checkout",
                         status: str = "firing", group_key: str | None = None,
                         severity: str = "warning", **labels: str) -> dict[str, Any]:
    group_key = group_key or f"{{}}:{{alertname=\"{alertname}\"}}/{uuid.uuid4().hex}"
    alert_labels = {"alertname": alertname, "service": service, "severity": severity, **labels}
    return {
        "version": "4",
        "groupKey": group_key,
        "status": status,
        "receiver": "remediator",
        "groupLabels": {"alertname": alertname},
        "commonLabels": alert_labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "truncatedAlerts": 0,
        "alerts": [{
            "status": status,
            "labels": alert_labels,
            "annotations": {"summary": f"{alertname} on {service}"},
            "startsAt": "2026-11-24T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.local/graph",
            "fingerprint": uuid.uuid5(uuid.NAMESPACE_URL, group_key).hex[:16],
        }],
    }
