"""What the evidence collection is asked for, and the scope each source derives from it.

The workflow passes the alert's facts and the runbook's steps as they are; which
Deployments, flags, functions, groups and databases to read is decided here, so the
workflow stays a list of phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import Field

from remediator.models.contract import Contract
from remediator.models.mitigation import MitigationStep


class EvidenceRequest(Contract):
    """The incident's facts at triage: when it began, what fired, what the runbook touches.

    ``occurrence`` keys what is recorded for later steps (``to_revision: before_suspect``);
    ``generator_urls`` are the alerts' Prometheus links (their ``g0.expr`` is the rule)."""

    incident_id: str
    occurrence: str
    service: str
    onset: datetime
    labels: dict[str, str] = Field(default_factory=dict)
    generator_urls: list[str] = Field(default_factory=list, max_length=20)
    verify_queries: list[str] = Field(default_factory=list, max_length=20)
    steps: list[MitigationStep] = Field(default_factory=list)
    environment: str = "production"


@dataclass
class Scope:
    """What each source reads, derived from the request."""

    deployments: set[tuple[str, str]] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)
    flags: set[tuple[str, str, str]] = field(default_factory=set)  # (store, environment, flag)
    functions: set[tuple[str, str]] = field(default_factory=set)  # (function, alias)
    groups: set[str] = field(default_factory=set)
    databases: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    return str(value) if isinstance(value, str | int) and str(value) else None


def alert_expression(generator_url: str) -> str | None:
    """The rule's PromQL from a Prometheus ``generatorURL`` (``/graph?g0.expr=…``)."""
    try:
        query = parse_qs(urlsplit(generator_url).query)
    except ValueError:
        return None
    found = query.get("g0.expr") or []
    return (found[0].strip() or None) if found else None


def _step_scope(scope: Scope, step: MitigationStep, environment: str) -> None:
    p, ns, dep = step.params, _text(step.params, "namespace"), _text(step.params, "deployment")
    if step.action.startswith("kubernetes.") and ns and dep:
        scope.deployments.add((ns, dep))
        scope.targets.add(f"kubernetes:{ns}/{dep}")
    elif step.action == "feature_flag.set" and (flag := _text(p, "flag")):
        env = _text(p, "environment") or environment
        scope.flags.add((_text(p, "store") or "redis", env, flag))
        scope.targets.add(f"flag:{flag}@{_text(p, 'environment') or 'default'}")
    elif step.action.startswith("aws.lambda.") and (fn := _text(p, "function")):
        alias = _text(p, "alias") or ""
        scope.functions.add((fn, alias))
        scope.targets.add(f"lambda:{fn}:{alias}")
    elif step.action.startswith("aws.asg.") and (group := _text(p, "group")):
        scope.groups.add(group)
        scope.targets.add(f"asg:{group}")
    elif step.action.startswith("postgres.") and (db := _text(p, "database")):
        scope.databases.add(db)


def scope_of(req: EvidenceRequest) -> Scope:
    """The Deployments, flags, functions, groups, databases and queries to read."""
    scope = Scope()
    labels = req.labels
    if labels.get("namespace") and labels.get("deployment"):
        scope.deployments.add((labels["namespace"], labels["deployment"]))
        scope.targets.add(f"kubernetes:{labels['namespace']}/{labels['deployment']}")
    for step in req.steps:
        _step_scope(scope, step, req.environment)
    scope.namespaces = {ns for ns, _ in scope.deployments}
    if labels.get("namespace"):
        scope.namespaces.add(labels["namespace"])
    expressions = [e for e in (alert_expression(u) for u in req.generator_urls) if e]
    for query in [*req.verify_queries, *expressions]:
        if query not in scope.queries:
            scope.queries.append(query)
    return scope
