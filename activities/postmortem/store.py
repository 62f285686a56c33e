"""Render the postmortem document and keep it on disk (one Markdown file per incident)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from temporalio import activity

from activities.aws.clients import call
from activities.evidence.chart import ChartMaker
from activities.postmortem.closing import ClosingMetrics
from remediator.models.postmortem import PostmortemInput, PostmortemResult
from remediator.postmortem_doc import render_postmortem

log = structlog.get_logger()


class PostmortemActivities:
    def __init__(self, directory: Path, s3: Any | None = None, bucket: str | None = None,
                 charts: ChartMaker | None = None, closing: ClosingMetrics | None = None) -> None:
        self._directory = directory
        self._s3 = s3
        self._bucket = bucket
        self._charts = charts
        self._closing = closing

    @activity.defn
    async def store_postmortem(self, doc: PostmortemInput) -> PostmortemResult:
        """Write ``<dir>/<incident id>.md`` (and the S3 object, if a bucket is configured),
        with the metric chart beside it when the incident has evidence; a retry rewrites
        the same content."""
        chart = await self._charts.chart(doc) if self._charts is not None else None
        markdown = render_postmortem(doc, chart)
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / f"{doc.incident_id}.md"
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(markdown, encoding="utf-8")
        tmp.replace(path)
        where = str(path)
        if self._s3 is not None and self._bucket:
            key = f"postmortems/{doc.incident_id}.md"
            await call(self._s3.put_object, Bucket=self._bucket, Key=key,
                       Body=markdown.encode(), ContentType="text/markdown")
            where += f" and s3://{self._bucket}/{key}"
        log.info("postmortem.stored", incident_id=doc.incident_id, where=where)
        if self._closing is not None:
            await self._closing.record(doc)
        return PostmortemResult(path=where, markdown=markdown)
