"""Alert payloads as Alertmanager and generic senders produce them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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


def pagerduty_payload(incident: str, event_type: str = "incident.triggered",
                      title: str = "TestPagerDutyAlert", priority: str | None = "P2",
                      urgency: str = "high", occurred_at: datetime | None = None,
                      ) -> dict[str, Any]:
    """A PagerDuty V3 webhook body as PagerDuty sends it for an incident event
    (occurred now unless ``occurred_at`` says otherwise: the server refuses stale ones)."""
    occurred = (occurred_at or datetime.now(UTC)).astimezone(UTC)
    return {"event": {
        "id": uuid.uuid4().hex,
        "event_type": event_type,
        "resource_type": "incident",
        "occurred_at": occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
        "client": None,
        "data": {
            "id": incident,
            "type": "incident",
            "self": f"https://api.pagerduty.com/incidents/{incident}",
            "html_url": f"https://acme.pagerduty.com/incidents/{incident}",
            "number": 2,
            "status": "resolved" if event_type == "incident.resolved" else "triggered",
            "incident_key": "d3640fbd41094207a1c11e58e46b1662",
            "created_at": "2026-11-24T09:59:00Z",
            "title": title,
            "service": {"id": "PF9KMXH", "summary": "checkout", "type": "service_reference",
                        "html_url": "https://acme.pagerduty.com/services/PF9KMXH"},
            "assignees": [],
            "escalation_policy": {"id": "PE", "summary": "default", "type": "ep_reference"},
            "teams": [],
            "priority": None if priority is None else {
                "id": "PSO75BM", "summary": priority, "type": "priority_reference"},
            "urgency": urgency,
            "conference_bridge": None,
            "resolve_reason": None,
        },
    }}
