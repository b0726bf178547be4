"""Uploads from the Data page: the CLI's readers and pipeline, into the dashboard's store."""

from __future__ import annotations

import io

from dashboard.state import current_role, deployment, seal_context_for, store
from ingest.pipeline import IngestSummary, Uploader, ingest_file


def ingest_upload(kind: str, name: str, data: bytes) -> IngestSummary:
    """Ingest an uploaded file of ``kind``; raises the same errors as ``streetsafe ingest``.

    The file is the current role's: a partner's records count towards no one's ``k`` in the
    releases, and its duplicates are looked for among its own records only.
    """
    dep = deployment()
    role = current_role()
    uploader = Uploader(role, trusted=dep.policies[role].case_knowledge)
    with store() as st_:
        return ingest_file(
            st_,
            kind,
            io.BytesIO(data),
            ctx=seal_context_for(dep.settings.store),
            source=name,
            uploader=uploader,
        )
