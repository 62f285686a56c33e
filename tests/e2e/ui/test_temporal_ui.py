"""The Temporal UI explains an incident where a user looks: opened in headless Chromium,
the incident's page shows its summary, details and what it waits for; the event history
says what each activity and timer does; the list finds the incident by its title.

``REMEDIATOR_SCREENSHOTS=docs`` also writes the pages' screenshots into docs/ (the
README shows them); otherwise they land in the test's temporary directory.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from temporalio.client import Client

from remediator.models.incident import Phase
from tests.support.approvals import Case
from tests.support.browser import shots_dir
from tests.support.spa_browser import Browser
from workflows.support import search


async def _page(client: Client, ui_base: str, workflow_id: str, tab: str) -> str:
    run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
    return f"{ui_base}/namespaces/default/workflows/{quote(workflow_id, safe='')}/{run_id}/{tab}"


async def test_incident_page_says_what_it_is_and_what_it_waits_for(
        case: Case, approval_worker: None, client: Client, ui_base: str, tmp_path: Path) -> None:
    pending = await case.open()
    title = "TestApprovalAlert on checkout"  # the alert's summary annotation
    shots = shots_dir(tmp_path)
    async with Browser() as browser:
        # The incident: summary (title, service, severity), details, current details.
        shown = await browser.read(
            await _page(client, ui_base, case.id, "user-metadata"),
            f"[P2] {title} — checkout", "Severity at open:", "Labels:",
            f"Waiting for approval of step {pending.step_id}", pending.plan_hash,
            "May approve:", "alice")
        # The plan awaiting approval (Markdown typesets its quotes: compare up to them).
        assert pending.plan.split("'")[0] in shown
        await browser.screenshot(shots / "ui-incident.png")

        # The mitigate phase: its summary and details name the runbook and its steps.
        mitigate = f"{case.id}/{Phase.MITIGATE}"
        await browser.read(
            await _page(client, ui_base, mitigate, "user-metadata"),
            f"mitigate · [P2] {title}", "test-approval", f"risky-flip: set flag test-{case.name} → off")

        # Its event history and timeline: what each activity and timer does, not its type.
        plan = f"plan (dry run) of risky-flip: set flag test-{case.name} → off"
        deadline = "approval deadline of risky-flip in 2 h (P2): then P2 → P1"
        await browser.read(await _page(client, ui_base, mitigate, "history"), plan, deadline)
        await browser.read(await _page(client, ui_base, mitigate, "timeline"), plan, deadline)
        await browser.scroll_to("Timeline")
        await browser.screenshot(shots / "ui-mitigate-timeline.png")

        # The incident's own: its phases by summary, and the comms clocks' timers.
        clocks = ("status update in 2 h (P2)", "page Engineering lead at +15 min",
                  "page on-call engineer again in", "severity P2 → P1 in 4 h unless resolved")
        await browser.read(await _page(client, ui_base, case.id, "history"), *clocks)
        await browser.read(await _page(client, ui_base, case.id, "timeline"), *clocks,
                           f"mitigate · [P2] {title}")
        await browser.scroll_to("Timeline")
        await browser.screenshot(shots / "ui-incident-timeline.png")

        # The list, filtered by a search attribute, finds the incident by its title.
        query = f'{search.TITLE.name} = "{title}"'
        listed = await browser.read(
            f"{ui_base}/namespaces/default/workflows?{urlencode({'query': query})}", case.id)
        assert "IncidentWorkflow" in listed
        await browser.screenshot(shots / "ui-list.png")

    described = await client.get_workflow_handle(case.id).describe()
    assert described.typed_search_attributes.get(search.TITLE) == title
    assert described.typed_search_attributes.get(search.RUNBOOK) == "test-approval"
    await case.decide("alice", pending.plan_hash)
    await case.done()
