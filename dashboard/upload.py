"""Uploads from the Data page: the CLI's readers and pipeline, into the dashboard's store."""

from __future__ import annotations

import io

from dashboard.state import deployment, seal_context_for, store
from ingest.pipeline import IngestSummary, ingest_file


def ingest_upload(kind: str, name: str, data: bytes) -> IngestSummary:
    """Ingest an uploaded file of ``kind``; raises the same errors as ``streetsafe ingest``."""
    url = deployment().settings.store
    with store() as st_:
        return ingest_file(st_, kind, io.BytesIO(data), ctx=seal_context_for(url), source=name)
