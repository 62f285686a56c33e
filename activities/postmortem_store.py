"""Render the postmortem document and keep it on disk (one Markdown file per incident)."""

from __future__ import annotations

from pathlib import Path

import structlog
from temporalio import activity

from remediator.postmortem_doc import render_postmortem
from workflows.phase_models import PostmortemInput, PostmortemResult

log = structlog.get_logger()


class PostmortemActivities:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @activity.defn
    async def store_postmortem(self, doc: PostmortemInput) -> PostmortemResult:
        """Write ``<dir>/<incident id>.md``; rewriting it on retry gives the same file."""
        markdown = render_postmortem(doc)
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / f"{doc.incident_id}.md"
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(markdown, encoding="utf-8")
        tmp.replace(path)
        log.info("postmortem.stored", incident_id=doc.incident_id, path=str(path))
        return PostmortemResult(path=str(path), markdown=markdown)
