"""What the Temporal UI shows of an incident: summaries, details and current details.

The UI lists a workflow by id only, and an activity or timer by its type; these texts
say what each is about. Summaries are one line (the event history shows them beside
each activity and timer); details are Markdown (the workflow page's "User Metadata").
User metadata is not part of Temporal's determinism checks: changing a text needs no
patch, and histories recorded without them replay unchanged. Pure functions only.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from remediator.models.alert import Alert, AlertStatus
    from remediator.models.approval import ApprovalPolicy
    from remediator.models.mitigation import MitigationStep
    from remediator.models.runbook import Runbook
    from remediator.severity import Severity
    from workflows.approvals.models import PendingApproval
    from workflows.catalogue import lookup
    from workflows.triage_rules import classify

# The UI shows a summary on one line; a longer one is cut (the details say the rest).
MAX_SUMMARY = 200
# Details hold alert labels and runbook text: bounded, so that hostile labels cannot
# swell every start command (labels are capped by the alert models, not this small).
MAX_DETAILS = 8000
LABEL_CHARS = 100


def cut(markdown: str, limit: int = MAX_DETAILS) -> str:
    return markdown if len(markdown) <= limit else markdown[: limit - 1] + "…"


def line(text: str, limit: int = MAX_SUMMARY) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def span(seconds: float) -> str:
    """A duration as people say it: "45 s", "15 min", "2 h", "1 h 30 min", "3 d"."""
    s = round(seconds)
    if seconds < 10:
        return f"{seconds:g} s"
    if s < 120:
        return f"{s} s"
    if s < 7200 and s % 3600:
        return f"{round(s / 60)} min"
    if s % 86400 == 0:
        return f"{s // 86400} d"
    hours, minutes = divmod(round(s / 60), 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"


def step_line(step: MitigationStep) -> str:
    """A runbook step as people read it: "flip-flag: set flag checkout-v2 → off"."""
    return line(f"{step.id}: {lookup(step.action).describe(step)}")


def title_of(alert: Alert) -> tuple[str, str]:
    """The incident's title and service, as detect will name them."""
    title = alert.annotations.get("summary") or alert.name
    service = alert.labels.get("service") or alert.labels.get("job") or "unknown"
    return title, service


def headline(title: str, service: str, severity: Severity | str | None) -> str:
    """"[P1] Checkout error rate above 5% — checkout"."""
    level = f"[{severity}] " if severity else ""
    return line(f"{level}{title} — {service}")


# --- the incident, when it opens ------------------------------------------------------
def opening(alerts: list[Alert]) -> tuple[str, str]:
    """The static summary and details of an incident opened by ``alerts``: the first
    firing alert names it; its severity is the alert's (triage may raise it)."""
    primary = next((a for a in alerts if a.status == AlertStatus.FIRING), alerts[0])
    title, service = title_of(primary)
    severity, _ = classify(primary.labels, None)
    labels = ", ".join(f"`{line(f'{k}={v}', LABEL_CHARS)}`"
                       for k, v in sorted(primary.labels.items()))
    rows = [f"## {title}", "",
            f"- **Service:** {service}",
            f"- **Severity at open:** {severity} (triage may raise it: see `RemediatorSeverity`)",
            f"- **Alert:** {primary.name} from {primary.source} ({len(alerts)} in the first batch)",
            f"- **Labels:** {labels or 'none'}"]
    link = primary.annotations.get("runbook_url")
    if link:
        rows.append(f"- **Runbook:** <{link}>")
    rows += ["", "The runbook is matched in the detect phase; the current details say "
             "what the incident waits for."]
    return headline(title, service, severity), cut("\n".join(rows))


def declared(title: str, service: str, severity: Severity, by: str,
             runbook: str | None) -> tuple[str, str]:
    """The static summary and details of an incident a human declared."""
    rows = [f"## {title}", "", f"- **Service:** {service}", f"- **Severity:** {severity}",
            f"- **Declared by:** {by}", f"- **Runbook:** {runbook or 'none (humans handle it)'}"]
    return headline(title, service, severity), cut("\n".join(rows))


# --- the runbook and the phases --------------------------------------------------------
def runbook_markdown(runbook: Runbook | None, link: str | None) -> str:
    """The runbook, its link and its steps as a Markdown section."""
    if runbook is None:
        return "**Runbook:** none matches; humans handle this incident."
    name = f"[{runbook.name}]({link})" if link else f"`{runbook.name}`"
    rows = [f"**Runbook:** {name} — {runbook.provenance()}"]
    if runbook.description:
        rows += ["", runbook.description]
    if runbook.dry_run:
        rows += ["", "_Shadow mode: every step is planned, nothing is changed._"]
    rows += ["", "**Steps:**", *steps_markdown(runbook.steps)]
    if runbook.fallback_steps:
        rows += ["", "**Fallback steps** (once, if verification fails):",
                 *steps_markdown(runbook.fallback_steps)]
    checks = ", ".join(c.label for c in runbook.verify.checks) or "none"
    rows += ["", f"**Verified by:** {checks}"]
    return "\n".join(rows)


def steps_markdown(steps: list[MitigationStep]) -> list[str]:
    return [f"{n}. {step_line(s)}" for n, s in enumerate(steps, 1)] or ["_none_"]


def phase(name: str, headline_: str, body: str) -> tuple[str, str]:
    """A phase child's static summary ("mitigate · [P1] Checkout … — checkout") and
    details (what it was given)."""
    return line(f"{name} · {headline_}"), cut(f"## {name}: {headline_}\n\n{body}")


# --- what the incident waits for (current details) -------------------------------------
def waiting_approval(pending: PendingApproval, policy: ApprovalPolicy) -> str:
    """The plan awaiting approval, its hash, who may approve and by when."""
    return cut(_waiting_approval(pending, policy))


def _waiting_approval(pending: PendingApproval, policy: ApprovalPolicy) -> str:
    who = ", ".join(policy.approvers) or "nobody is on the approver allow-list"
    by = f" (not {pending.requested_by}, who requested it)" if pending.requested_by else ""
    return "\n".join([
        f"### Waiting for approval of step `{pending.step_id}` ({pending.risk})", "",
        f"**Plan:** {pending.plan}", "",
        f"- **Plan hash:** `{pending.plan_hash}`",
        f"- **Approvals:** {len(pending.approvals)} of {pending.required}"
        + (f" ({', '.join(pending.approvals)})" if pending.approvals else ""),
        f"- **May approve:** {who}{by}",
        f"- **Deadline:** {pending.deadline:%Y-%m-%d %H:%M:%S} UTC (then the severity is raised)",
        "", f"`remediator approve <incident> --step {pending.step_id} "
        f"--plan-hash {pending.plan_hash}`",
        *(["", "**Evidence:**", "", "```", pending.evidence, "```"] if pending.evidence else [])])


def verifying(window: float, until: datetime, severity: Severity, checks: str) -> str:
    return (f"### Verifying until {until:%H:%M:%S} UTC\n\nWatching {checks} over a "
            f"{span(window)} window ({severity}); undone and escalated if not healthy.")


def handed_over(why: str) -> str:
    return (f"### Handed over to humans\n\n{why}.\n\nWaiting for every alert of the group to "
            "resolve, or a human to resolve it (`resolve` signal).")


def running(phase_name: str, what: str) -> str:
    return f"### {phase_name.capitalize()}\n\n{what}"
