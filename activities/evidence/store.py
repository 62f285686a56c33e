"""Large evidence (the full bundle, the chart) kept beside the postmortem: in its
directory, and in its S3 bucket when one is configured. History holds only the name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from activities.aws.clients import call
from activities.support.crash_points import CrashPoints
from activities.support.errors import ResourceNotFound

PREFIX = "postmortems"


class ArtefactStore:
    """``<dir>/<name>`` (written atomically, so a retry leaves one file) and, with a
    bucket, ``s3://<bucket>/postmortems/<name>``."""

    def __init__(self, directory: Path, s3: Any | None = None, bucket: str | None = None,
                 crash: CrashPoints | None = None) -> None:
        self._directory = directory
        self._s3 = s3
        self._bucket = bucket
        self._crash = crash or CrashPoints(None)

    def path(self, name: str) -> Path:
        return self._directory / name

    async def put(self, name: str, data: bytes, content_type: str) -> str:
        """Store ``data``; returns where (the S3 URL when there is a bucket, else the path)."""
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self.path(name)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        self._crash.reach("artefacts.put.temp_written")  # a retry rewrites the same temp file
        tmp.replace(path)
        if self._s3 is None or not self._bucket:
            return str(path)
        key = f"{PREFIX}/{name}"
        await call(self._s3.put_object, Bucket=self._bucket, Key=key, Body=data,
                   ContentType=content_type)
        return f"s3://{self._bucket}/{key}"

    async def get(self, name: str) -> bytes | None:
        """What was stored as ``name`` (this machine's copy, else S3's), or None."""
        path = self.path(name)
        if path.exists():
            return path.read_bytes()
        if self._s3 is None or not self._bucket:
            return None
        try:
            got = await call(self._s3.get_object, Bucket=self._bucket, Key=f"{PREFIX}/{name}")
        except ResourceNotFound:
            return None
        body: bytes = await call(got["Body"].read)
        return body
